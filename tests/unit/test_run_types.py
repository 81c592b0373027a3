"""``DAG(allowed_run_types=...)`` (Airflow 3.2+): which kinds of runs a DAG may have, checked
against its schedule as Airflow's validator checks them, and serialized only when set."""

from __future__ import annotations

from datetime import datetime

import pytest

from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.dag_spec import DagSpec
from airlane.sdk.asset_schedule import AssetOrTimeSchedule
from airlane.sdk.assets import Asset
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.run_types import check_operator_triggered, refusal
from airlane.sdk.timetable_base import DagRunType
from airlane.sdk.timetables import CronTriggerTimetable

START = datetime(2026, 1, 1)


def test_unset_allows_every_kind_and_leaves_the_serialized_form_alone() -> None:
    dag = DAG("any_kind", schedule="@daily", start_date=START)
    assert dag.allowed_run_types is None
    assert "allowed_run_types" not in serialize_dag(dag)
    assert refusal("any_kind", None, DagRunType.MANUAL, "manual runs") is None


def test_kinds_as_enum_members_strings_or_one_value() -> None:
    dag = DAG(
        "kinds",
        schedule="@daily",
        start_date=START,
        allowed_run_types=[DagRunType.SCHEDULED, "backfill"],
    )
    assert dag.allowed_run_types == {"scheduled", "backfill"}
    serialized = serialize_dag(dag)
    assert serialized["allowed_run_types"] == ["backfill", "scheduled"]
    assert DagSpec.from_serialized(serialized).allowed_run_types == {"scheduled", "backfill"}
    one = DAG("one", schedule=None, allowed_run_types=DagRunType.MANUAL)
    assert one.allowed_run_types == {"manual"}


@pytest.mark.parametrize(
    ("schedule", "kinds", "message"),
    [
        ("@daily", ["manual"], "must include SCHEDULED when the Dag has a schedule defined"),
        (None, ["scheduled"], "must include MANUAL when the Dag has no schedule defined"),
        ([Asset("s3://b/x")], ["manual"], "must include ASSET_TRIGGERED when the Dag is sche"),
    ],
)
def test_the_schedules_own_kind_must_be_allowed(
    schedule: object, kinds: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DAG("refused", schedule=schedule, start_date=START, allowed_run_types=kinds)


def test_an_empty_list_allows_every_kind_and_assets_or_time_need_asset_triggered() -> None:
    assert DAG("empty", schedule=None, allowed_run_types=[]).allowed_run_types is None
    either = AssetOrTimeSchedule(timetable=CronTriggerTimetable("@daily"), assets=[Asset("a")])
    dag = DAG("either", schedule=either, start_date=START, allowed_run_types=["asset_triggered"])
    assert dag.allowed_run_types == {"asset_triggered"}
    with pytest.raises(ValueError, match="must include ASSET_TRIGGERED"):
        DAG("either2", schedule=either, start_date=START, allowed_run_types=["scheduled"])


def test_a_kind_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="'sometimes' is not a valid DagRunType"):
        DAG("refused", schedule=None, allowed_run_types=["manual", "sometimes"])


def test_refusals_name_the_dag_and_the_kind_as_airflow_does() -> None:
    allowed = frozenset({"scheduled"})
    assert (
        refusal("etl", allowed, DagRunType.MANUAL, "manual runs")
        == "Dag with dag_id: 'etl' does not allow manual runs"
    )
    assert refusal("etl", allowed, DagRunType.SCHEDULED, "scheduled runs") is None
    with pytest.raises(AirflowException, match="'etl' does not allow operator-triggered runs"):
        check_operator_triggered("etl", allowed)
    check_operator_triggered("etl", None)
