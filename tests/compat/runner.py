"""Run a suite's example files with Airlane (one process per file, several at once) and judge
each file against the states recorded from real Airflow."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from tests.compat.compare import airlane_states, differences
from tests.compat.examples import LOGICAL_DATE, ROOT, Suite, example_files, prepare

FILE_TIMEOUT_S = 150.0

#: example files whose run is mostly asleep, 40 s to 90 s each for under 1 s of CPU (measured
#: alone): the SLA example's tasks sleep 20 s then 30 s; the assets (datasets) example's DAGs
#: run ``sleep 5`` tasks; the deferrable ExternalTaskSensor example waits on its child DAG.
#: They run outside the gate, from the start, so that their sleep overlaps the files that
#: compute: with the FIFO gate, one started near the end of the run and held it that much longer.
MOSTLY_ASLEEP = frozenset(
    {
        "example_sla_dag.py",
        "example_assets.py",
        "example_datasets.py",
        "example_external_task_parent_deferrable.py",
        "standard/example_external_task_parent_deferrable.py",
    }
)


class Status(StrEnum):
    MATCHES = "matches"
    DIFFERS = "differs"
    DOES_NOT_LOAD = "does not load"
    LEFT_TO_OTHER_ISSUE = "left to another issue"
    NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class FileReport:
    suite: str
    file: str
    status: Status
    dags: int  # DAGs Airflow found in the file
    matching: int  # of those, DAGs whose every task ended as in Airflow
    detail: str = ""
    seconds: float = 0.0  # Airlane's run of the file
    #: whether Airlane loaded the file without error; None when it was not tried
    loaded: bool | None = None

    @property
    def loads(self) -> bool:
        if self.loaded is not None:
            return self.loaded
        return self.status in (Status.MATCHES, Status.DIFFERS)


@dataclass(frozen=True)
class SuiteReport:
    suite: Suite
    files: tuple[FileReport, ...]
    seconds: float
    expected_failures: dict[str, str]


def load_expected(suite: Suite) -> dict[str, Any]:
    """The suite's expected file; without one (not recorded yet) every file is unrecorded."""
    if not suite.expected_path.exists():
        return {"files": {}}
    data: dict[str, Any] = json.loads(suite.expected_path.read_text())
    return data


#: the example folder that is Airflow's own ``airflow.example_dags`` package
AIRFLOW_EXAMPLES_PREFIX = "airflow/example_dags/"


def example_dags_env(suite: Suite, folder: Path) -> dict[str, str]:
    """For Airflow's own examples, the folder served as ``airflow.example_dags`` with its
    ``plugins/`` registered as Airflow does with ``load_examples`` (the workday timetable's
    example imports ``airflow.example_dags.plugins.workday``); see ``dag_loader.plugins``."""
    if suite.prefix != AIRFLOW_EXAMPLES_PREFIX:
        return {}
    return {"AIRLANE_AIRFLOW_EXAMPLE_DAGS": str(folder)}


async def run_file(
    folder: Path,
    file: str,
    timeout_s: float = FILE_TIMEOUT_S,
    env: dict[str, str] | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Airlane's JSON for one file (tests/compat/run_file.py), or ``{"crash": why}``; with
    ``only``, just those DAGs are run (none: the file is only loaded)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.compat.run_file",
        str(folder),
        str(folder / file),
        LOGICAL_DATE,
        *([] if only is None else ["--only", *only]),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return {"crash": f"did not finish in {timeout_s:.0f} s"}
    if proc.returncode != 0 or not out.strip():
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        return {"crash": f"exit {proc.returncode}: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def judge(suite: Suite, file: str, recorded: dict[str, Any], rules: dict[str, Any],
          got: dict[str, Any]) -> FileReport:  # fmt: skip
    """One file's report: Airflow's recording against Airlane's run."""
    wanted: dict[str, Any] = recorded.get("dags", {})
    if "crash" in got:
        return FileReport(suite.name, file, Status.DIFFERS, len(wanted), 0, got["crash"])
    if got["import_errors"]:
        message = got["import_errors"][0]["message"]
        return FileReport(suite.name, file, Status.DOES_NOT_LOAD, len(wanted), 0, message)
    problems: list[str] = []
    matching = 0
    for dag_id, expected in wanted.items():
        result = got["dags"].get(dag_id)
        if result is None or "error" in result:
            problems.append(f"{dag_id}: {result['error'] if result else 'not defined'}")
            continue
        found = differences(expected["tasks"], airlane_states(result), rules.get(dag_id, []))
        matching += not found
        problems += [f"{dag_id}: {p}" for p in found]
    problems += [f"{d}: not a DAG in Airflow" for d in got["dags"] if d not in wanted]
    status = Status.MATCHES if not problems else Status.DIFFERS
    return FileReport(suite.name, file, status, len(wanted), matching, "; ".join(problems))


def finished_dags(recorded: dict[str, Any] | None) -> list[str]:
    """The DAGs of a file whose ``dags test`` real Airflow finished (their states compare)."""
    dags = (recorded or {}).get("dags", {})
    return sorted(d for d, r in dags.items() if not r["outcome"].startswith("timeout"))


def judge_unrecorded(suite: Suite, file: str, recorded: dict[str, Any] | None, why: str,
                     rules: dict[str, Any], got: dict[str, Any]) -> FileReport:  # fmt: skip
    """A file real Airflow could not be fully recorded with: it must still load in Airlane
    (else it is judged as not loading); the DAGs Airflow did finish are compared, and any
    difference is judged as one."""
    if "crash" in got:
        return FileReport(suite.name, file, Status.DOES_NOT_LOAD, 0, 0, got["crash"], loaded=False)
    if got["import_errors"]:
        message = got["import_errors"][0]["message"]
        return FileReport(suite.name, file, Status.DOES_NOT_LOAD, 0, 0, message, loaded=False)
    listed: list[str] = got["dag_ids"]
    wanted = (recorded or {}).get("dags", {})
    problems = [f"{d}: not a DAG in Airflow" for d in listed if wanted and d not in wanted]
    problems += [f"{d}: not defined" for d in wanted if d not in listed]
    matching = 0
    for dag_id in finished_dags(recorded):
        result = got["dags"].get(dag_id)
        if result is None or "error" in result:
            problems.append(f"{dag_id}: {result['error'] if result else 'not run'}")
            continue
        found = differences(wanted[dag_id]["tasks"], airlane_states(result), rules.get(dag_id, []))
        matching += not found
        problems += [f"{dag_id}: {p}" for p in found]
    if problems:
        detail = f"{why}; differs: " + "; ".join(problems)
        return FileReport(
            suite.name, file, Status.DIFFERS, len(listed), matching, detail, loaded=True
        )
    return FileReport(
        suite.name, file, Status.NOT_RECORDED, len(listed), matching, why, loaded=True
    )


def _unrecorded(recorded: dict[str, Any] | None) -> str | None:
    if recorded is None:
        return "no recording"
    if recorded.get("airflow_import_error"):
        return f"Airflow fails to import it too: {recorded['airflow_import_error']}"
    unfinished = [d for d, r in recorded["dags"].items() if r["outcome"].startswith("timeout")]
    if unfinished:
        return f"Airflow's dags test did not finish: {', '.join(unfinished)}"
    return None


async def run_suite(
    suite: Suite, gate: asyncio.Semaphore, files: list[str] | None = None
) -> SuiteReport:
    """Fetch and extract the suite (cached wheel), run its files (as many at once as ``gate``
    lets through, shared between suites run together), judge each one."""
    started = time.monotonic()
    folder = await asyncio.to_thread(prepare, suite)
    expected = load_expected(suite)
    left: dict[str, str] = expected.get("left_to_other_issues", {})

    async def one(file: str) -> FileReport:
        recorded = expected["files"].get(file)
        if file in left:
            dags = len(recorded["dags"]) if recorded else 0
            return FileReport(suite.name, file, Status.LEFT_TO_OTHER_ISSUE, dags, 0, left[file])
        why = _unrecorded(recorded)
        # a file Airflow did not finish is still loaded, and its finished DAGs are run
        only = None if why is None else finished_dags(recorded)
        async with contextlib.nullcontext() if file in MOSTLY_ASLEEP else gate:
            file_started = time.monotonic()
            got = await run_file(folder, file, env=example_dags_env(suite, folder), only=only)
            seconds = time.monotonic() - file_started
        rules = expected.get("rules", {})
        if why is not None:
            report = judge_unrecorded(suite, file, recorded, why, rules, got)
        else:
            assert recorded is not None
            report = judge(suite, file, recorded, rules, got)
        return dataclasses.replace(report, seconds=round(seconds, 1))

    names = [f for f in example_files(folder) if files is None or f in files]
    reports = await asyncio.gather(*(one(f) for f in names))
    return SuiteReport(
        suite, tuple(reports), time.monotonic() - started, expected.get("expected_failures", {})
    )
