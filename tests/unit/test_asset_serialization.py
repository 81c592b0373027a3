"""Asset schedules, task outlets/inlets and DagSpec.asset_condition in the serialized DAG; the
time scheduler ignores kind "assets" and reads the time part of "asset_or_time"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airlane import DAG, EmptyOperator
from airlane.dag_loader.serialize import serialize_dag
from airlane.dag_loader.validate import validate_dag
from airlane.engine.dag_spec import DagSpec
from airlane.scheduling.scheduler import dag_schedule
from airlane.scheduling.timetables import Kind, spec_timetable
from airlane.sdk.asset_schedule import AssetOrTimeSchedule, DatasetOrTimeSchedule
from airlane.sdk.assets import Asset, AssetAlias
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.timetables import CronTriggerTimetable

A = Asset("s3://dag1/output_1.txt", extra={"hi": "bye"})
B = Asset("s3://dag2/output_1.txt")
START = datetime(2021, 1, 1, tzinfo=UTC)


def _dag(schedule: object, **kwargs: object) -> dict:
    with DAG("consumer", schedule=schedule, **kwargs) as dag:
        EmptyOperator(task_id="t", outlets=[Asset("s3://out")], inlets=[A, AssetAlias("al"), "x"])
    validate_dag(dag)
    return serialize_dag(dag)


def test_a_list_schedule_is_all_of_its_assets() -> None:
    data = _dag([A, B])
    assert data["schedule"] == {
        "kind": "assets",
        "expression": "Asset",
        "description": "Triggered by assets",
        "periodic": False,
        "condition": {"all": [{"asset": A.name}, {"asset": B.name}]},
        "asset_expression": {"all": [A.as_expression(), B.as_expression()]},
        "assets": [A.as_ref(), B.as_ref()],
        "aliases": [],
    }
    spec = DagSpec.from_serialized(data)
    assert spec.asset_condition == {"all": [{"asset": A.name}, {"asset": B.name}]}
    assert spec.has_schedule
    assert spec_timetable(spec).kind is Kind.NONE
    assert dag_schedule(data, None, START, data_intervals_default=False) is None


def test_conditions_and_aliases() -> None:
    data = _dag(A | (B & AssetAlias("al")) | A)
    schedule = data["schedule"]
    assert schedule["condition"] == {
        "any": [{"asset": A.name}, {"all": [{"asset": B.name}, {"alias": "al"}]}, {"asset": A.name}]
    }
    assert schedule["assets"] == [A.as_ref(), B.as_ref()]  # each once
    assert schedule["aliases"] == [{"alias": "al", "group": "asset"}]


def test_asset_or_time_schedule_keeps_the_time_part_for_the_scheduler() -> None:
    schedule = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=(A & B)
    )
    data = _dag(schedule, start_date=START, catchup=False)
    described = data["schedule"]
    assert described["kind"] == "asset_or_time"
    assert described["expression"] == "Asset or 0 1 * * 3"
    assert described["timetable"]["kind"] == "cron"
    assert described["condition"] == {"all": [{"asset": A.name}, {"asset": B.name}]}
    spec = DagSpec.from_serialized(data)
    assert spec.asset_condition == described["condition"]
    assert spec_timetable(spec).kind is Kind.CRON
    entry = dag_schedule(data, None, datetime(2026, 1, 1, tzinfo=UTC), data_intervals_default=False)
    assert entry is not None
    old = DatasetOrTimeSchedule(
        timetable=CronTriggerTimetable("@daily", timezone="UTC"), datasets=[A]
    )
    assert old.asset_condition.as_condition() == {"all": [{"asset": A.name}]}


def test_nested_asset_timetables_are_refused() -> None:
    inner = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("@daily", timezone="UTC"), assets=[A]
    )
    with pytest.raises(AirflowException, match="cannot nest asset timetables"):
        DAG("d", schedule=AssetOrTimeSchedule(timetable=inner, assets=[A]), start_date=START)


def test_task_outlets_and_inlets_keep_assets_only() -> None:
    (task,) = _dag(None)["tasks"]
    assert task["outlets"] == [Asset("s3://out").as_ref()]
    assert task["inlets"] == [A.as_ref(), {"alias": "al", "group": "asset"}]


def test_a_dag_without_assets_has_no_asset_keys() -> None:
    with DAG("plain", schedule="@daily", start_date=START) as dag:
        op = EmptyOperator(task_id="t", outlets=A)
        EmptyOperator(task_id="u")
    assert op.outlets == [A]  # Airflow: one object is a list of one
    data = serialize_dag(dag)
    assert DagSpec.from_serialized(data).asset_condition is None
    assert "outlets" not in data["tasks"][1]
    assert "inlets" not in data["tasks"][1]
