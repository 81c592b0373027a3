"""Airflow's timetable classes, to pick a DAG's semantics explicitly (``schedule=...``).

``CronTriggerTimetable`` / ``DeltaTriggerTimetable``: Airflow 3's default, a run's logical date
is when it fires. ``CronDataIntervalTimetable`` / ``DeltaDataIntervalTimetable``: Airflow 2's,
a run covers an interval and fires at its end. The scheduler's math is in
``airlane.scheduling.timetables``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from croniter import croniter

from airlane.sdk.exceptions import AirflowException
from airlane.sdk.timetable_base import Timetable


def _zone_name(timezone: Any) -> str | None:
    if timezone is None:
        return None
    return timezone if isinstance(timezone, str) else str(getattr(timezone, "name", timezone))


class _Timetable(Timetable):
    """Airlane's own cron and delta timetables: the scheduler computes them from ``describe()``
    (``airlane.scheduling.timetables``), not through the protocol's methods."""

    data_intervals = False

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


class _CronTimetable(_Timetable):
    def __init__(self, cron: str, timezone: Any = None, **_: Any) -> None:
        if not croniter.is_valid(cron):
            raise AirflowException(f"Invalid cron expression {cron!r}")
        self.cron = cron
        self.timezone = _zone_name(timezone)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "cron",
            "expression": self.cron,
            "timezone": self.timezone,
            "data_intervals": self.data_intervals,
        }


class _DeltaTimetable(_Timetable):
    def __init__(self, delta: timedelta, **_: Any) -> None:
        if not isinstance(delta, timedelta) or delta.total_seconds() <= 0:
            raise AirflowException(f"A timetable's delta must be a positive timedelta: {delta!r}")
        self.delta = delta

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "timedelta",
            "seconds": self.delta.total_seconds(),
            "expression": str(self.delta),
            "data_intervals": self.data_intervals,
        }


class CronTriggerTimetable(_CronTimetable):
    data_intervals = False


class CronDataIntervalTimetable(_CronTimetable):
    data_intervals = True


class DeltaTriggerTimetable(_DeltaTimetable):
    data_intervals = False


class DeltaDataIntervalTimetable(_DeltaTimetable):
    data_intervals = True


def is_timetable(value: Any) -> bool:
    """One of Airflow's cron and delta timetables (not a custom one)."""
    return isinstance(value, _Timetable)


def is_custom_timetable(value: Any) -> bool:
    """A user's ``Timetable`` subclass, scheduled through its own ``next_dagrun_info``."""
    return isinstance(value, Timetable) and not isinstance(value, _Timetable)


def check_custom_timetable(value: Any) -> None:
    """Refuse a subclass of a built-in timetable that overrides the protocol: the scheduler
    computes built-ins itself and would ignore the override."""
    if not is_timetable(value):
        return
    for name in ("next_dagrun_info", "infer_manual_data_interval", "generate_run_id"):
        if getattr(type(value), name) is not getattr(Timetable, name):
            raise AirflowException(
                f"{type(value).__name__} overrides {name} of a built-in timetable; subclass "
                "airflow.timetables.base.Timetable instead"
            )
