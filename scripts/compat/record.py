"""Record what real Airflow does with its own example DAGs: tests/compat/expected/<suite>.json.

Only this script needs real Airflow. For each suite (tests/compat/examples.py) it installs the
pinned Airflow into a throwaway venv with uv (no constraints file: the machine reaches PyPI only),
migrates a SQLite metadata DB once, lists each example file's DAGs with Airflow's DagBag, then
runs ``airflow dags test <dag_id> <logical date>`` for every DAG with a fresh copy of that DB
and reads each task instance's end state from it. Hand-written sections of an existing expected
file (rules, left_to_other_issues, expected_failures) are kept. The file is rewritten after each
example file, and ``--resume`` keeps the files already recorded (except timed-out ones).

Airflow 3.1's ``dags test`` builds a new in-process Execution API app (several CPU seconds) for
every task; the command is run through AIRFLOW_MAIN, which builds it once per process, as a real
API server serves every task from one app. Nothing else about the command changes.

    python scripts/compat/record.py [--suite NAME ...] [--jobs 2] [--timeout-s 900] [--resume]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.compat.examples import (
    LOGICAL_DATE,
    SUITES,
    USES_EXAMPLE_PLUGINS,
    WORK_DIR,
    Suite,
    airflow_env,
    example_files,
    prepare,
    suite_named,
)

# What each venv gets. Without Airflow's constraints file (not reachable here) a few upper
# bounds keep the old releases importable; virtualenv lets the 2.x examples define their
# virtualenv tasks (they check ``is_venv_installed()``).
INSTALLS: dict[str, tuple[str, list[str]]] = {
    "3.1.8": (
        sys.executable,
        [
            "apache-airflow==3.1.8",
            "apache-airflow-core==3.1.8",
            "apache-airflow-providers-standard==1.21.0",
        ],
    ),
    "2.10.5": (
        "3.11",
        [
            "apache-airflow==2.10.5",
            "virtualenv",
            "sqlalchemy<2",
            "flask-session<0.6",
            "connexion<3",
        ],
    ),
    "2.5.3": (
        "/root/.pyenv/versions/3.10.13/bin/python3",
        [
            "apache-airflow==2.5.3",
            "virtualenv",
            "sqlalchemy<2",
            "flask-session<0.6",
            "connexion<3",
            "pendulum<3",
            "flask<2.3",
            "werkzeug<2.3",
        ],
    ),
}

# Run inside the Airflow venv: each file's DAG ids, or its import error, as Airflow sees them.
LIST_DAGS = """
import json, sys
from airflow.models.dagbag import DagBag
out = {}
for path in sys.argv[1:]:
    bag = DagBag(dag_folder=path, include_examples=False, safe_mode=False)
    errors = {k: str(v).strip().splitlines()[-1] for k, v in bag.import_errors.items()}
    out[path] = {"dags": sorted(bag.dag_ids), "error": next(iter(errors.values()), None)}
print("@@JSON@@" + json.dumps(out))
"""


# ``airflow`` with its arguments, building Airflow 3's in-process Execution API app once.
AIRFLOW_MAIN = """
import functools, sys
try:
    import airflow.sdk.execution_time.supervisor as supervisor
    supervisor.in_process_api_server = functools.cache(supervisor.in_process_api_server)
except (ImportError, AttributeError):
    pass
from airflow.__main__ import main
sys.argv = ["airflow", *sys.argv[1:]]
main()
"""


def ensure_venv(suite: Suite) -> Path:
    airflow = Path(suite.venv) / "bin" / "airflow"
    if airflow.exists():
        return airflow
    python, requirements = INSTALLS[suite.airflow_version]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uv"], check=True)
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "--python", python, suite.venv], check=True)
    subprocess.run(
        [*uv, "pip", "install", "--python", f"{suite.venv}/bin/python", *requirements], check=True
    )
    return airflow


def migrated_home(suite: Suite, airflow: Path, folder: Path) -> Path:
    """A metadata DB as a running deployment has it: migrated, and every DAG of the folder
    parsed into it (``dags reserialize``), so that a DAG triggering another finds it."""
    home = Path(tempfile.mkdtemp(prefix=f"airflow-home-{suite.name}-"))
    major_minor = tuple(int(p) for p in suite.airflow_version.split(".")[:2])
    migrate = ["db", "migrate"] if major_minor >= (2, 7) else ["db", "init"]
    env = airflow_env(home, folder)
    subprocess.run([str(airflow), *migrate], env=env, check=True, capture_output=True, timeout=900)
    # Best effort: Airflow 3.1's reserialize exits 1 when a file of the folder fails to import.
    subprocess.run(
        [str(airflow), "dags", "reserialize"],
        env=env,
        check=False,
        capture_output=True,
        timeout=900,
    )
    return home


def list_dags(suite: Suite, folder: Path, home: Path, files: list[str]) -> dict[str, Any]:
    python = str(Path(suite.venv) / "bin" / "python")
    paths = [str(folder / f) for f in files]
    # the example plugins registered when a file needs them (a priority weight strategy is
    # checked when the file's operators are made)
    plugins = any(f in USES_EXAMPLE_PLUGINS for f in files)
    proc = subprocess.run(
        [python, "-c", LIST_DAGS, *paths],
        env=airflow_env(home, folder, load_examples=plugins),
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@JSON@@"))
    listed: dict[str, Any] = json.loads(line[len("@@JSON@@") :])
    return {f: listed[str(folder / f)] for f in files}


def read_states(db: Path, dag_id: str) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (dag_id,))
        run = runs.fetchone()
        rows = conn.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ?", (dag_id,)
        ).fetchall()
    tasks = {
        (task_id if map_index < 0 else f"{task_id}[{map_index}]"): state
        for task_id, map_index, state in sorted(rows, key=lambda r: (r[0], r[1]))
    }
    return {"run_state": run[1] if run else None, "tasks": tasks}


def run_one(
    suite: Suite,
    airflow: Path,
    folder: Path,
    template: Path,
    file: str,
    dag_id: str,
    timeout_s: float,
) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="airflow-run-"))
    try:
        shutil.copy(template / "airflow.db", home / "airflow.db")
        flag = "-f" if suite.airflow_version.startswith("3.") else "-S"
        python = str(airflow.parent / "python")
        command = [python, "-c", AIRFLOW_MAIN, "dags", "test", dag_id, LOGICAL_DATE]
        command += [flag, str(folder / file)]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                command,
                env=airflow_env(home, folder, load_examples=file in USES_EXAMPLE_PLUGINS),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
            outcome = "finished" if proc.returncode == 0 else f"exit {proc.returncode}"
            tail = "" if proc.returncode == 0 else (proc.stderr or proc.stdout)[-800:]
        except subprocess.TimeoutExpired:
            outcome, tail = f"timeout after {timeout_s:.0f} s", ""
        result = {"outcome": outcome, **read_states(home / "airflow.db", dag_id)}
        if tail:
            result["output_tail"] = tail
        result["seconds"] = round(time.monotonic() - started, 1)
        print(f"  {file} {dag_id}: {outcome} {result['run_state']}", flush=True)
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _finished(entry: dict[str, Any]) -> bool:
    return not any(d["outcome"].startswith("timeout") for d in entry["dags"].values())


def record_suite(
    suite: Suite, jobs: int, timeout_s: float, only: list[str], resume: bool, skip: list[str]
) -> None:
    airflow = ensure_venv(suite)
    folder = prepare(suite, dest=WORK_DIR / "airflow" / suite.name)
    old = json.loads(suite.expected_path.read_text()) if suite.expected_path.exists() else {}
    kept = {f: e for f, e in old.get("files", {}).items() if resume and _finished(e)}
    recorded: dict[str, Any] = dict(old.get("files", {})) if only else kept
    files = [
        f
        for f in example_files(folder)
        if (not only or f in only) and f not in kept and not any(fnmatch(f, p) for p in skip)
    ]
    template = migrated_home(suite, airflow, folder)
    listed = list_dags(suite, folder, template, files)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {
            (f, d): pool.submit(run_one, suite, airflow, folder, template, f, d, timeout_s)
            for f in files
            for d in listed[f]["dags"]
        }
        for f in files:
            dags = {d: futures[(f, d)].result() for d in listed[f]["dags"]}
            recorded[f] = {"airflow_import_error": listed[f]["error"], "dags": dags}
            write_expected(suite, old, recorded)
    write_expected(suite, old, recorded)
    shutil.rmtree(template, ignore_errors=True)
    print(f"wrote {suite.expected_path}", flush=True)


def write_expected(suite: Suite, old: dict[str, Any], recorded: dict[str, Any]) -> None:
    data = {
        "suite": suite.name,
        "requirement": suite.requirement,
        "airflow_version": suite.airflow_version,
        "logical_date": LOGICAL_DATE,
        "recorded_with": f"airflow dags test <dag_id> {LOGICAL_DATE} (scripts/compat/record.py)",
        "files": dict(sorted(recorded.items())),
        "rules": old.get("rules", {}),
        "left_to_other_issues": old.get("left_to_other_issues", {}),
        "expected_failures": old.get("expected_failures", {}),
    }
    suite.expected_path.parent.mkdir(parents=True, exist_ok=True)
    suite.expected_path.write_text(json.dumps(data, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", help="suite name (default: all)")
    parser.add_argument("--file", action="append", default=[], help="re-record only this file")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=900)
    parser.add_argument("--resume", action="store_true", help="keep files already recorded")
    parser.add_argument(
        "--skip", action="append", default=[], help="glob of files not to record (e.g. assets)"
    )
    args = parser.parse_args()
    for name in args.suite or [s.name for s in SUITES]:
        suite = suite_named(name)
        print(f"recording {suite.name} with Airflow {suite.airflow_version}", flush=True)
        record_suite(suite, args.jobs, args.timeout_s, args.file, args.resume, args.skip)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
