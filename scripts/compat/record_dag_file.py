"""Record what real Airflow does with one DAG file: every task instance's end state, its
``return_value`` XCom and its ``rendered_map_index``, into ``<file's folder>/airflow-<ver>.json``.

Runs ``airflow dags test <dag_id> <logical date> -f <file>`` of a real Airflow venv (3.1.8 by
default) against a fresh SQLite home and reads the results from its metadata DB.

    python scripts/compat/record_dag_file.py FILE [--dag-id ID] [--venv /work/airflow-venv-3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.compat.record import AIRFLOW_MAIN
from tests.compat.examples import LOGICAL_DATE, airflow_env


def read_run(db: Path, dag_id: str) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        run = conn.execute("SELECT state FROM dag_run WHERE dag_id = ?", (dag_id,)).fetchone()
        rows = conn.execute(
            "SELECT task_id, map_index, state, rendered_map_index FROM task_instance"
            " WHERE dag_id = ?",
            (dag_id,),
        ).fetchall()
        xcoms = conn.execute(
            "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND key = 'return_value'",
            (dag_id,),
        ).fetchall()
    label = {(t, m): (t if m < 0 else f"{t}[{m}]") for t, m, *_ in rows}
    ordered = sorted(rows, key=lambda r: (r[0], r[1]))
    return {
        "dag_id": dag_id,
        "logical_date": LOGICAL_DATE,
        "state": run[0] if run else None,
        "tasks": {label[(t, m)]: state for t, m, state, _ in ordered},
        "rendered_map_index": {label[(t, m)]: r for t, m, _, r in ordered if r is not None},
        "xcom": {
            label.get((t, m), f"{t}[{m}]"): json.loads(v) if isinstance(v, str | bytes) else v
            for t, m, v in sorted(xcoms, key=lambda r: (r[0], r[1]))
        },
    }


def record(file: Path, dag_id: str, venv: Path, keep: bool = False) -> dict[str, Any]:
    airflow = venv / "bin" / "airflow"
    home = Path(tempfile.mkdtemp(prefix="airflow-record-"))
    try:
        env = airflow_env(home, file.parent)
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
        # AIRFLOW_MAIN: `airflow` building the in-process Execution API once (see record.py)
        python = str(venv / "bin" / "python")
        proc = subprocess.run(
            [python, "-c", AIRFLOW_MAIN, "dags", "test", dag_id, LOGICAL_DATE, "-f", str(file)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        (home / "dags-test.out").write_text(proc.stdout + proc.stderr)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"airflow dags test failed:\n{proc.stderr[-2000:]}")
        result = read_run(home / "airflow.db", dag_id)
        version = subprocess.run(
            [str(airflow), "version"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        return {"airflow_version": version, **result}
    finally:
        if keep:
            print(f"kept Airflow's home (DB, logs, dags-test.out): {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--dag-id", help="default: the file's name without .py")
    parser.add_argument("--venv", type=Path, default=Path("/work/airflow-venv-3"))
    parser.add_argument("--keep", action="store_true", help="keep Airflow's home to inspect")
    args = parser.parse_args()
    file = args.file.resolve()
    result = record(file, args.dag_id or file.stem, args.venv, args.keep)
    out = file.parent / f"airflow-{result['airflow_version']}.json"
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
