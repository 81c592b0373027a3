"""Mapped task groups under ``airlane dags test``: the states, XComs and rendered map indexes
that real Airflow 3.1.8 produced for the same files (recorded beside them by
scripts/compat/record_dag_file.py)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DAGS, run_cli

FOLDER = TEST_DAGS / "mapped_groups"
RETURNED = re.compile(r"^\[(.+?)\] Done\. Returned value was: (.*)$", re.MULTILINE)


def returned_values(log: str) -> dict[str, Any]:
    """The XComs the run pushed, from its log (a None return pushes none, as in Airflow)."""
    values = {label: ast.literal_eval(value) for label, value in RETURNED.findall(log)}
    return {label: value for label, value in values.items() if value is not None}


@pytest.mark.parametrize(
    "file",
    [
        FOLDER / "mapped_task_groups.py",
        FOLDER / "join_quirk" / "join_quirk.py",
        FOLDER / "short_circuit" / "short_circuit_in_group.py",
    ],
    ids=str,
)
def test_same_states_xcoms_and_names_as_airflow(file: Path) -> None:
    expected = json.loads((file.parent / "airflow-3.1.8.json").read_text())
    result = run_cli(
        "dags", "test", expected["dag_id"], "--dags-folder", str(file.parent), "--json"
    )
    data = result.json()
    assert data["state"] == expected["state"], result.stderr
    assert {k: v["state"] for k, v in data["tasks"].items()} == expected["tasks"]
    names = {
        k: v["rendered_map_index"] for k, v in data["tasks"].items() if "rendered_map_index" in v
    }
    assert names == expected["rendered_map_index"]
    assert returned_values(result.stdout + result.stderr) == expected["xcom"]
