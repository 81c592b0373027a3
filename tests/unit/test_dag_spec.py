"""DagSpec: the typed DAG-level settings of a serialized DAG, with Airflow's defaults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airlane import DAG, EmptyOperator
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.dag_spec import DagSpec

#: Airflow's defaults for a DAG (airflow.configuration defaults and the DAG's own)
AIRFLOW_DEFAULTS: dict[str, Any] = {
    "max_active_runs": 16,
    "max_active_tasks": 16,
    "max_consecutive_failed_dag_runs": 0,
    "catchup": False,
    "dagrun_timeout_s": None,
    "timezone": "UTC",
    "start_date": None,
    "end_date": None,
    "description": None,
    "tags": (),
}


def test_a_minimal_dict_takes_the_defaults() -> None:
    spec = DagSpec.from_serialized({"dag_id": "d"})
    assert spec.dag_id == "d"
    assert spec.dag_display_name == "d"
    assert not spec.has_schedule
    assert spec.fileloc == ""


@pytest.mark.parametrize(("name", "airflow_default"), sorted(AIRFLOW_DEFAULTS.items()))
def test_each_default_is_airflows(name: str, airflow_default: Any) -> None:
    assert getattr(DagSpec.from_serialized({"dag_id": "d"}), name) == airflow_default


@pytest.mark.parametrize(("name", "airflow_default"), sorted(AIRFLOW_DEFAULTS.items()))
def test_a_null_value_takes_the_default(name: str, airflow_default: Any) -> None:
    assert getattr(DagSpec.from_serialized({"dag_id": "d", name: None}), name) == airflow_default


def test_the_sdk_dag_defaults_agree_with_the_spec() -> None:
    with DAG("plain") as dag:
        EmptyOperator(task_id="a")
    spec = DagSpec.from_serialized(serialize_dag(dag))
    for name in ("max_active_runs", "max_active_tasks", "max_consecutive_failed_dag_runs"):
        assert getattr(spec, name) == AIRFLOW_DEFAULTS[name], name
    assert spec.dagrun_timeout_s is None


def test_a_full_dict() -> None:
    raw = {
        "dag_id": "full",
        "dag_display_name": "Full DAG",
        "schedule": {"kind": "cron", "expression": "0 * * * *"},
        "timezone": "Europe/Paris",
        "start_date": "2026-01-01T00:00:00+00:00",
        "end_date": "2026-02-01T00:00:00+00:00",
        "catchup": True,
        "max_active_runs": 2,
        "max_active_tasks": 3,
        "max_consecutive_failed_dag_runs": 4,
        "dagrun_timeout_s": 60.0,
        "fileloc": "/dags/full.py",
        "description": "all set",
        "tags": ["a", "b"],
        "tasks": [{"task_id": "x"}],
    }
    spec = DagSpec.from_serialized(raw)
    assert spec == DagSpec(
        dag_id="full",
        dag_display_name="Full DAG",
        schedule={"kind": "cron", "expression": "0 * * * *"},
        timezone="Europe/Paris",
        start_date="2026-01-01T00:00:00+00:00",
        end_date="2026-02-01T00:00:00+00:00",
        catchup=True,
        max_active_runs=2,
        max_active_tasks=3,
        max_consecutive_failed_dag_runs=4,
        dagrun_timeout_s=60.0,
        fileloc="/dags/full.py",
        description="all set",
        tags=("a", "b"),
    )
    assert spec.has_schedule


def test_a_serialized_sdk_dag() -> None:
    with DAG(
        "sdk",
        schedule="@daily",
        max_active_runs=1,
        max_active_tasks=5,
        dagrun_timeout=timedelta(minutes=2),
        tags=["t"],
    ) as dag:
        EmptyOperator(task_id="a")
    spec = DagSpec.from_serialized(serialize_dag(dag))
    assert (spec.max_active_runs, spec.max_active_tasks) == (1, 5)
    assert spec.dagrun_timeout_s == 120.0
    assert spec.tags == ("t",)
    assert spec.has_schedule


def test_zero_limits_stay_zero() -> None:
    spec = DagSpec.from_serialized({"dag_id": "d", "max_active_runs": 0, "max_active_tasks": 0})
    assert (spec.max_active_runs, spec.max_active_tasks) == (0, 0)


def test_an_empty_description_stays_as_serialized() -> None:
    assert DagSpec.from_serialized({"dag_id": "d", "description": ""}).description == ""
