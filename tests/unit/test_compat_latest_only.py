"""LatestOnlyOperator with Airflow 3's semantics (``providers.standard.operators.latest_only``).

A manual run follows every direct downstream task; a scheduled or backfill run follows them
only when now lies between its data interval start and the end of the next scheduled run, and
else follows none. Dates are taken relative to the real clock, with hours of margin.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pendulum
import pytest

from airlane import DAG, EmptyOperator
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.operators.latest_only import LatestOnlyOperator
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

NOW = pendulum.now("UTC")
START = pendulum.datetime(2021, 1, 1, tz="UTC")


def _dag(schedule: Any) -> tuple[DAG, LatestOnlyOperator]:
    with DAG("latest", schedule=schedule, start_date=START) as dag:
        latest = LatestOnlyOperator(task_id="latest_only")
        latest >> [EmptyOperator(task_id="task1"), EmptyOperator(task_id="task2")]
    return dag, latest


def _run(
    schedule: Any, run_type: str, start: datetime, end: datetime | None = None
) -> tuple[TaskOutcome, list[str]]:
    dag, latest = _dag(schedule)
    end = end or start
    info = RunInfo(
        "latest", f"{run_type}__x", pendulum.instance(start), start, end, {}, run_type=run_type
    )
    lines: list[str] = []
    env = ExecutionEnv(xcoms=InMemoryXComs(), log=lines.append)
    request = TaskRequest(info, TIKey("latest_only"), 1, 0)
    return asyncio.run(execute_task(latest, dag, request, env)), lines


FOUR_HOURS = timedelta(hours=4)


@pytest.mark.parametrize("run_type", ["scheduled", "backfill"])
def test_a_run_that_is_not_the_latest_follows_no_downstream_task(run_type: str) -> None:
    outcome, lines = _run(FOUR_HOURS, run_type, NOW - timedelta(hours=5))
    assert outcome.state is TaskInstanceState.SUCCESS
    assert outcome.follow == ()
    assert "Not latest execution, skipping downstream." in lines


def test_the_latest_scheduled_run_follows_every_direct_downstream_task() -> None:
    outcome, lines = _run(FOUR_HOURS, "scheduled", NOW - timedelta(hours=1))
    assert outcome.follow == ("task1", "task2")
    assert "Latest, allowing execution to proceed." in lines


def test_data_intervals_the_window_ends_with_the_next_interval() -> None:
    # Airflow 2's semantics: the run [L - 4h, L] fires at L; the next one ends at L + 4h.
    fired = NOW - timedelta(hours=3)
    latest, _ = _run(FOUR_HOURS, "scheduled", fired - FOUR_HOURS, fired)
    assert latest.follow == ("task1", "task2")
    older = NOW - timedelta(hours=5)
    outcome, _ = _run(FOUR_HOURS, "scheduled", older - FOUR_HOURS, older)
    assert outcome.follow == ()


def test_cron_schedules_use_the_next_fire_time() -> None:
    # An hourly cron that last fired half an hour ago: the latest run's window (its fire time to
    # the next one) holds now with half an hour to spare on each side. (A cron at minute 0 with
    # the hour taken at import failed when the test ran past the next full hour.)
    fired = pendulum.now("UTC").subtract(minutes=30).replace(second=0, microsecond=0)
    cron = f"{fired.minute} * * * *"
    latest, _ = _run(cron, "scheduled", fired)
    assert latest.follow == ("task1", "task2")
    older, _ = _run(cron, "scheduled", fired - timedelta(hours=2))
    assert older.follow == ()


def test_a_manual_run_always_proceeds() -> None:
    outcome, lines = _run(FOUR_HOURS, "manual", START)
    assert outcome.follow == ("task1", "task2")
    assert "Manually triggered DAG_Run: allowing execution to proceed." in lines


@pytest.mark.parametrize("schedule", [None, "@once"])
def test_a_schedule_without_a_next_run_proceeds(schedule: Any) -> None:
    outcome, lines = _run(schedule, "scheduled", START)
    assert outcome.follow == ("task1", "task2")
    assert "Last scheduled execution: allowing execution to proceed." in lines


def test_both_airflow_import_paths_give_the_operator() -> None:
    from airlane.dag_loader import airflow_compat

    airflow_compat.install()
    from airflow.operators.latest_only import (
        LatestOnlyOperator as Airflow2,
    )
    from airflow.providers.standard.operators.latest_only import (
        LatestOnlyOperator as Airflow3,
    )

    assert Airflow2 is Airflow3 is LatestOnlyOperator
