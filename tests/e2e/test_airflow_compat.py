"""Unmodified Airflow 1.x, 2.x and 3.x DAG files load and run."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_DAGS, run_cli

COMPAT = TEST_DAGS / "compat"


def test_list_shows_every_compatible_dag_and_names_the_missing_provider() -> None:
    listed = run_cli("dags", "list", "--dags-folder", str(COMPAT), "--json")
    assert listed.code == 0
    assert {row["dag_id"] for row in listed.json()} == {
        "airflow1_style",
        "airflow2_style",
        "airflow3_style",
        "taskflow_airflow2",
    }
    errors = run_cli("dags", "list-import-errors", "--dags-folder", str(COMPAT), "--json").json()
    assert len(errors) == 1
    assert errors[0]["filename"].endswith("uses_provider.py")
    assert errors[0]["lineno"] == 4
    assert "airflow.providers.amazon" in errors[0]["message"]


@pytest.mark.parametrize(
    ("dag_id", "tasks"),
    [
        ("airflow1_style", {"say", "pull", "done"}),
        ("airflow2_style", {"begin", "work.hello", "work.report", "total", "finish"}),
        ("airflow3_style", {"start", "bash", "check", "generated", "end"}),
        ("taskflow_airflow2", {"extract", "multiply"}),
    ],
)
def test_compat_dag_runs_to_success(dag_id: str, tasks: set[str]) -> None:
    result = run_cli("dags", "test", dag_id, "--dags-folder", str(COMPAT), "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert set(data["tasks"]) == tasks
    assert {info["state"] for info in data["tasks"].values()} == {"success"}


def test_compat_values_flow_through() -> None:
    result = run_cli("dags", "test", "airflow3_style", "--dags-folder", str(COMPAT))
    assert "[bash] size=3" in result.stdout
    assert "[generated] generated command" in result.stdout
    legacy = run_cli("dags", "test", "airflow1_style", "--dags-folder", str(COMPAT))
    assert "Returned value was: 'legacy'" in legacy.stdout


def test_show_prints_the_graph() -> None:
    result = run_cli("dags", "show", "airflow2_style", "--dags-folder", str(COMPAT))
    assert result.code == 0
    assert "begin <DummyOperator> >> work.hello" in result.stdout
    assert "finish <DummyOperator> (all_done)" in result.stdout
