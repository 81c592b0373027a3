"""A run whose params do not validate is never created (Airflow's ``create_dagrun``):
``dags test`` of a DAG with a required param and no conf runs no task and exits 1."""

from __future__ import annotations

from typing import Any

import pytest

from airlane import DAG, Param, PythonOperator
from airlane.cli.dags_cmd import run_dag_test
from airlane.sdk.exceptions import ParamValidationError


def _dag(ran: list[str]) -> DAG:
    with DAG(
        "required_param",
        schedule=None,
        params={"required_field": Param(type="string", minLength=3)},
    ) as dag:
        PythonOperator(task_id="show", python_callable=lambda: ran.append("show"))
    return dag


def test_a_required_param_without_value_refuses_the_run() -> None:
    ran: list[str] = []
    with pytest.raises(ParamValidationError, match="Invalid input for param required_field"):
        _dag(ran).test()
    assert ran == []


def test_conf_that_gives_the_value_runs() -> None:
    ran: list[str] = []
    assert _dag(ran).test(run_conf={"required_field": "abcd"}).state.value == "success"
    assert ran == ["show"]


def test_conf_that_breaks_the_schema_refuses_the_run() -> None:
    with pytest.raises(ParamValidationError, match="required_field"):
        _dag([]).test(run_conf={"required_field": "ab"})


def test_dags_test_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []
    dag = _dag(ran)

    def lookup(dag_id: str) -> Any:
        return dag

    code = run_dag_test(dag, logical_date=None, conf={}, run_id=None, as_json=True, lookup=lookup)
    assert code == 1
    assert ran == []
    assert "No value passed and Param has no default value" in capsys.readouterr().err


def test_the_api_refuses_a_trigger_whose_params_do_not_validate() -> None:
    from airlane.api.dag_runs import params_problem
    from airlane.dag_loader.serialize import serialize_dag

    serialized = serialize_dag(_dag([]))
    problem = params_problem(serialized, {})
    assert problem is not None
    assert "Invalid input for param required_field" in problem
    assert params_problem(serialized, {"required_field": "ab"}) is not None
    assert params_problem(serialized, {"required_field": "abcd", "other": 1}) is None
