"""The compatibility suite's files that real Airflow could not be fully recorded with: Airlane
still loads them (the table shows ``loads: yes`` and their DAG count), compares the DAGs Airflow
did finish, and a file that does not load, or such a DAG that differs, fails the test."""

from __future__ import annotations

from typing import Any

from tests.compat.examples import suite_named
from tests.compat.report import bookkeeping_problems, markdown, summary_line, text_table
from tests.compat.runner import (
    FileReport,
    Status,
    SuiteReport,
    _unrecorded,
    finished_dags,
    judge_unrecorded,
)

SUITE = suite_named("airflow-2.10.5")
RECORDED = {
    "airflow_import_error": None,
    "dags": {
        "parent": {"outcome": "timeout after 300 s", "tasks": {"start": "success"}},
        "parent.section": {"outcome": "finished", "tasks": {"work": "success"}},
    },
}
WHY = _unrecorded(RECORDED) or ""


def _got(states: dict[str, str], errors: list[str] | None = None) -> dict[str, Any]:
    return {
        "import_errors": [{"message": m} for m in errors or []],
        "dag_ids": ["parent", "parent.section"],
        "dags": {"parent.section": {"tasks": {t: {"state": s} for t, s in states.items()}}},
    }


def _suite(*files: FileReport) -> SuiteReport:
    return SuiteReport(SUITE, files, 1.0, {})


def test_only_the_dags_airflow_finished_are_run() -> None:
    assert WHY == "Airflow's dags test did not finish: parent"
    assert finished_dags(RECORDED) == ["parent.section"]


def test_a_loading_file_shows_its_dags_and_the_finished_ones_compared() -> None:
    report = judge_unrecorded(SUITE, "f.py", RECORDED, WHY, {}, _got({"work": "success"}))
    assert report.status is Status.NOT_RECORDED
    assert report.loads
    assert (report.dags, report.matching) == (2, 1)
    assert bookkeeping_problems(_suite(report)) == []
    row = next(line for line in markdown([_suite(report)]).splitlines() if "`f.py`" in line)
    assert row.startswith("| `f.py` | yes | 2 | 1/2 | not recorded: ")
    assert "1/1 files load (1 not recorded)" in summary_line(_suite(report))
    assert "yes" in text_table(_suite(report)).splitlines()[-1]


def test_a_file_that_does_not_load_fails_the_test() -> None:
    got = _got({}, errors=["ImportError: no pytz"])
    report = judge_unrecorded(SUITE, "f.py", RECORDED, WHY, {}, got)
    assert report.status is Status.DOES_NOT_LOAD
    assert not report.loads
    (problem,) = bookkeeping_problems(_suite(report))
    assert "f.py regressed: does not load: ImportError: no pytz" in problem


def test_a_finished_dag_that_differs_fails_the_test() -> None:
    report = judge_unrecorded(SUITE, "f.py", RECORDED, WHY, {}, _got({"work": "failed"}))
    assert report.status is Status.DIFFERS
    assert report.loads
    (problem,) = bookkeeping_problems(_suite(report))
    assert "parent.section: work: Airflow success, Airlane failed" in problem


def test_a_file_airflow_could_not_import_is_loaded_without_a_listing() -> None:
    recorded = {"airflow_import_error": "ValueError: Unknown priority strategy x", "dags": {}}
    why = _unrecorded(recorded) or ""
    got = {"import_errors": [], "dag_ids": ["mine"], "dags": {}}
    report = judge_unrecorded(SUITE, "f.py", recorded, why, {}, got)
    assert report.status is Status.NOT_RECORDED
    assert (report.loads, report.dags, report.matching) == (True, 1, 0)
