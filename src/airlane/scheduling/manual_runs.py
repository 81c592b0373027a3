"""The data interval of a manually triggered run, whoever triggers it (the API, the CLI,
TriggerDagRunOperator): Airflow asks the DAG's timetable (``infer_manual_data_interval``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airlane.queue.store import Store
from airlane.scheduling import custom_timetable
from airlane.scheduling.timetables import manual_data_interval


def interval_for(schedule: dict[str, Any], run_after: datetime) -> tuple[datetime, datetime]:
    """A custom timetable's ``infer_manual_data_interval`` (its errors raised as
    TimetableError), a trigger timetable's with an ``interval`` ([run_after - interval,
    run_after]), else the point ``run_after``."""
    if schedule.get("kind") == "custom":
        timetable = custom_timetable.resolve(schedule)
        return custom_timetable.manual_interval(timetable, run_after)
    return manual_data_interval(schedule, run_after) or (run_after, run_after)


async def manual_interval(
    store: Store, dag_id: str, run_after: datetime
) -> tuple[datetime, datetime]:
    """``interval_for`` the stored DAG's schedule (the point ``run_after`` for a DAG not
    stored: creating its run then says it is not found)."""
    dag = await store.dag(dag_id)
    return interval_for(dict((dag or {}).get("schedule") or {}), run_after)
