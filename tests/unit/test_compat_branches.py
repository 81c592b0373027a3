"""The standard provider's date branches (issue 15's branch examples): BranchDayOfWeekOperator
with WeekDay, BranchDateTimeOperator; and TaskFlow parameters named like any of Airflow's
context keys (``task_instance_key_str``...) may be left out of the call."""

from __future__ import annotations

import asyncio
from datetime import time
from typing import Any

import pendulum
import pytest

from airlane import DAG, EmptyOperator, task
from airlane.dag_loader import airflow_compat
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.node import DAGNode
from airlane.sdk.operators.branch_datetime import BranchDateTimeOperator
from airlane.sdk.operators.weekday import BranchDayOfWeekOperator, WeekDay
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

SATURDAY = pendulum.datetime(2024, 3, 9, 14, 30, tz="UTC")


def _run(node: DAGNode, when: pendulum.DateTime = SATURDAY) -> TaskOutcome:
    assert node.dag is not None
    info = RunInfo(node.dag.dag_id, "run1", when, when, when, {})
    env = ExecutionEnv(xcoms=InMemoryXComs(), log=lambda _: None)
    return asyncio.run(
        execute_task(node, node.dag, TaskRequest(info, TIKey(node.task_id), 1, 0), env)
    )


def _with_targets(op: Any) -> Any:
    op >> [EmptyOperator(task_id="yes"), EmptyOperator(task_id="no")]
    return op


@pytest.mark.parametrize(
    ("week_day", "follow"),
    [
        ({WeekDay.SATURDAY, WeekDay.SUNDAY}, ("yes",)),
        ("saturday", ("yes",)),
        (["Monday", WeekDay.TUESDAY], ("no",)),
    ],
)
def test_day_of_week_on_the_logical_date(week_day: Any, follow: tuple[str, ...]) -> None:
    with DAG("d", schedule=None):
        op = _with_targets(
            BranchDayOfWeekOperator(
                task_id="choose",
                week_day=week_day,
                follow_task_ids_if_true="yes",
                follow_task_ids_if_false="no",
                use_task_logical_date=True,
            )
        )
    assert _run(op).follow == follow


def test_day_of_week_refuses_unknown_days() -> None:
    with DAG("d", schedule=None), pytest.raises(AttributeError, match="Invalid Week Day"):
        BranchDayOfWeekOperator(
            task_id="c",
            week_day="Caturday",
            follow_task_ids_if_true="a",
            follow_task_ids_if_false="b",
        )


@pytest.mark.parametrize(
    ("lower", "upper", "follow"),
    [
        (time(14), time(15), ("yes",)),
        (time(15), time(0), ("no",)),  # 15:00 to midnight: the upper bound is the next day
        # 23:00 today to 15:00 tomorrow, anchored on now's date: 14:30 today is before it
        (time(23), time(15), ("no",)),
        (pendulum.datetime(2024, 3, 9, 14), None, ("yes",)),
        (None, pendulum.datetime(2024, 3, 9, 14), ("no",)),
    ],
)
def test_date_time_branch_on_the_logical_date(lower: Any, upper: Any, follow: Any) -> None:
    with DAG("d", schedule=None):
        op = _with_targets(
            BranchDateTimeOperator(
                task_id="choose",
                target_lower=lower,
                target_upper=upper,
                follow_task_ids_if_true="yes",
                follow_task_ids_if_false="no",
                use_task_logical_date=True,
            )
        )
    assert _run(op).follow == follow


def test_date_time_branch_needs_a_bound() -> None:
    with DAG("d", schedule=None), pytest.raises(AirflowException, match="At least one"):
        BranchDateTimeOperator(
            task_id="c",
            target_lower=None,
            target_upper=None,
            follow_task_ids_if_true="a",
            follow_task_ids_if_false="b",
        )


def test_the_airflow_paths_of_the_date_branches() -> None:
    airflow_compat.install()
    from airflow.operators.datetime import BranchDateTimeOperator as Airflow2DateTime
    from airflow.providers.standard.operators.datetime import BranchDateTimeOperator as DateTime
    from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator as DayOfWeek
    from airflow.providers.standard.utils.weekday import WeekDay as ProviderWeekDay
    from airflow.utils.weekday import WeekDay as Airflow2WeekDay

    assert DateTime is Airflow2DateTime is BranchDateTimeOperator
    assert DayOfWeek is BranchDayOfWeekOperator
    assert ProviderWeekDay is Airflow2WeekDay is WeekDay


def test_taskflow_parameters_named_like_context_keys_may_be_left_out() -> None:
    with DAG("d", schedule=None):

        @task.bash
        def run_me(sleep_seconds: int, task_instance_key_str: str) -> str:
            return f"echo {task_instance_key_str} {sleep_seconds}"

        run_me(sleep_seconds=0)
        with pytest.raises(TypeError, match="missing a required argument: 'sleep_seconds'"):
            run_me()
