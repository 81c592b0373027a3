"""Airflow SDK pieces that Airflow's own example DAGs use (issue 15), through ``dags test``.

Each file in ``tests/dags/compat_sdk`` lists the log lines Airflow prints in
``EXPECTED_LINES``; the task states are below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS, run_cli

FOLDER = TEST_DAGS / "compat_sdk"
STATES = {
    "xcom_arg_in_template": {
        "bash_push": "success",
        "bash_pull": "success",
        "answer": "success",
        "taskflow_pull": "success",
    },
    "template_files": {
        "read_sql": "success",
        "plain": "success",
        "script": "success",
        "note": "success",
    },
    "mapped_positional": {
        "add_one[0]": "success",
        "add_one[1]": "success",
        "add_one[2]": "success",
        "sum_it": "success",
        "scaled[0]": "success",
        "from_kwargs[0]": "success",
    },
    "compat_imports": {
        "skip_me": "skipped",
        "after_skip": "success",
        "all_success": "skipped",
        "when": "success",
    },
}


def _expected_lines(path: Path) -> list[str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXPECTED_LINES":
            lines: list[str] = ast.literal_eval(node.value)
            return lines
    raise AssertionError(f"{path.name} has no EXPECTED_LINES")


@pytest.mark.parametrize("dag_id", sorted(STATES))
def test_dag_runs_with_airflows_states_and_output(dag_id: str) -> None:
    result = run_cli(
        "dags",
        "test",
        dag_id,
        "--dags-folder",
        str(FOLDER),
        "--logical-date",
        "2024-03-05T00:00:00+00:00",
        "--json",
    )
    assert result.code == 0, result.stderr[-3000:]
    data = result.json()
    assert {label: info["state"] for label, info in data["tasks"].items()} == STATES[dag_id]
    for line in _expected_lines(FOLDER / f"{dag_id}.py"):
        assert line in result.stderr.splitlines(), line


def test_every_file_of_the_folder_loads() -> None:
    errors = run_cli("dags", "list-import-errors", "--dags-folder", str(FOLDER), "--json")
    assert errors.json() == []
