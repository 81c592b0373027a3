"""``dag.test()`` with Airflow's keywords (Airflow 3's task SDK ``DAG.test`` and Airflow 2's)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airlane import DAG, PythonOperator, Variable
from airlane.sdk.exceptions import AirflowException


def _dag(seen: dict[str, Any]) -> DAG:
    def first(**context: Any) -> None:
        seen["first"] = context["logical_date"]

    def second() -> None:
        seen["greeting"] = Variable.get("greeting", default_var=None)
        seen["limits"] = Variable.get("limits", default_var=None, deserialize_json=True)

    with DAG("dag_test_method", schedule=None) as dag:
        PythonOperator(task_id="first", python_callable=first) >> PythonOperator(
            task_id="second", python_callable=second
        )
    return dag


def test_logical_date_and_airflow_2s_execution_date() -> None:
    when = datetime(2025, 3, 4, tzinfo=UTC)
    for kwargs in ({"logical_date": when}, {"execution_date": when}):
        seen: dict[str, Any] = {}
        result = _dag(seen).test(**kwargs)
        assert result.state.value == "success"
        assert result.run_id == "manual__2025-03-04T00:00:00+00:00"
        assert seen["first"] == when


@pytest.mark.parametrize("pattern", ["fir.*", re.compile("first")])
def test_mark_success_pattern_skips_running_matching_tasks(pattern: str | re.Pattern[str]) -> None:
    seen: dict[str, Any] = {}
    result = _dag(seen).test(mark_success_pattern=pattern)
    assert result.state.value == "success"
    assert {label: info["state"] for label, info in result.tasks.items()} == {
        "first": "success",
        "second": "success",
    }
    assert "first" not in seen
    assert "greeting" in seen


def test_the_pattern_matches_whole_task_ids() -> None:
    seen: dict[str, Any] = {}
    _dag(seen).test(mark_success_pattern="fir")
    assert "first" in seen


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("vars.json", '{"greeting": "hello", "limits": {"max": 3}}'),
        ("vars.env", '# comment\ngreeting = hello\nlimits={"max": 3}\n'),
    ],
)
def test_variable_file_path(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    seen: dict[str, Any] = {}
    _dag(seen).test(variable_file_path=str(path))
    assert seen["greeting"] == "hello"
    assert seen["limits"] == {"max": 3}
    assert Variable.get("greeting", default_var=None) is None


def test_bad_variable_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "vars.txt"
    bad.write_text("x=1")
    with pytest.raises(AirflowException, match="Unsupported file format"):
        _dag({}).test(variable_file_path=str(bad))
    duplicated = tmp_path / "vars.env"
    duplicated.write_text("x=1\nx=2\n")
    with pytest.raises(AirflowException, match="more than once"):
        _dag({}).test(variable_file_path=str(duplicated))


def test_what_airlane_cannot_do_is_refused_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(AirflowException, match="set connections in the environment"):
        _dag({}).test(conn_file_path=str(tmp_path / "conns.json"))
    with pytest.raises(AirflowException, match="in process"):
        _dag({}).test(use_executor=True)
