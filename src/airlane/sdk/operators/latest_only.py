"""LatestOnlyOperator: downstream work runs only in the latest scheduled run (Airflow's semantics).

As in Airflow 3 (``airflow.providers.standard.operators.latest_only``), it is a branch operator:
a manual run follows every direct downstream task; any other run (scheduled, backfill) follows
them only when now falls in its window, from the run's data interval start to the end of the
next scheduled run, and otherwise follows none (trigger rules decide for tasks further down).
A DAG whose schedule has no next run (``None``, ``@once``, ``@continuous``) always proceeds.
A custom timetable is asked through its own ``next_dagrun_info``, as Airflow does.

Airflow 2 tested ``dag_run.external_trigger`` instead of the run type: the same for every run
but the one Airflow 2's ``dags test`` creates (manual, not externally triggered), which Airlane's
``dags test`` gives to the files written for Airflow 2 (``dag_loader/generation.py``); that
run checks the window as a scheduled one does.
The window is the same for Airflow 2's data-interval timetables and Airflow 3's trigger ones:
both start the next run's interval, or fire it, at the first schedule time after this run's end.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pendulum

from airlane.sdk.context import Context, current_log
from airlane.sdk.operators.python import BaseBranchOperator
from airlane.sdk.schedules import describe_schedule
from airlane.sdk.timetable_base import DataInterval, TimeRestriction
from airlane.sdk.timetables import is_custom_timetable
from airlane.sdk.timezone import utcnow


def next_schedule_after(dag: Any, moment: datetime) -> datetime | None:
    """The DAG's first schedule time strictly after ``moment``; None when it has no periodic
    schedule. (Reads the scheduler's pure timetable math; imported here, at run time only.)"""
    from airlane.scheduling.timetables import from_serialized

    timetable = from_serialized(describe_schedule(dag.schedule), dag.timezone)
    if not timetable.periodic:
        return None
    return timetable.next_after(moment)


def _custom_window(timetable: Any, start: datetime, end: datetime) -> tuple[Any, Any] | None:
    """Airflow's window for a custom timetable, from its own ``next_dagrun_info``: left is the
    end of a run the timetable would fit before this run's end, if any; right is the end of
    the run it makes after this one."""
    current = DataInterval(pendulum.instance(start), pendulum.instance(end))
    before = TimeRestriction(None, current.end - timedelta(microseconds=1), True)
    earlier = timetable.next_dagrun_info(last_automated_data_interval=current, restriction=before)
    left = earlier.data_interval.end if earlier else current.start
    after = TimeRestriction(current.end, None, True)
    upcoming = timetable.next_dagrun_info(last_automated_data_interval=current, restriction=after)
    return (left, upcoming.data_interval.end) if upcoming else None


def latest_window(dag: Any, dag_run: Any) -> tuple[datetime, datetime] | None:
    """(left, right) such that the run is the latest when ``left < now <= right``; None when
    the schedule has no next run (the run is then taken as the latest)."""
    left = dag_run.data_interval_start or dag_run.logical_date
    end = dag_run.data_interval_end or dag_run.logical_date
    if is_custom_timetable(dag.schedule):
        return _custom_window(dag.schedule, left, end)
    right = next_schedule_after(dag, end)
    if right is None:
        return None
    return left, right


class LatestOnlyOperator(BaseBranchOperator):
    """Skip the direct downstream tasks unless this is the most recent scheduled run."""

    ui_color = "#e9ffdb"

    def choose_branch(self, context: Context) -> str | Iterable[str] | None:
        log = current_log()
        everything = sorted(self.downstream_task_ids)
        dag_run = context["dag_run"]
        if dag_run.run_type == "manual" and dag_run.external_trigger:
            log("Manually triggered DAG_Run: allowing execution to proceed.")
            return everything
        window = latest_window(context["dag"], dag_run)
        if window is None:
            log("Last scheduled execution: allowing execution to proceed.")
            return everything
        left, right = window
        now = utcnow()
        log(f"Checking latest only with left_window: {left} right_window: {right} now: {now}")
        if not left < now <= right:
            log("Not latest execution, skipping downstream.")
            return []
        log("Latest, allowing execution to proceed.")
        return everything
