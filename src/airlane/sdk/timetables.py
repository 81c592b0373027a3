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
from dateutil.relativedelta import relativedelta

from airlane.sdk.exceptions import AirflowException
from airlane.sdk.timetable_base import Timetable
from airlane.sdk.timezone import coerce_datetime


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


Interval = timedelta | relativedelta


def _interval(value: Any, what: str) -> Interval:
    if isinstance(value, timedelta | relativedelta):
        return value
    raise AirflowException(f"{what} must be a timedelta or relativedelta, got {value!r}")


def interval_json(interval: Interval) -> float | dict[str, int]:
    """A timedelta as seconds, a relativedelta as its non-zero fields (Airflow's forms)."""
    if isinstance(interval, timedelta):
        return interval.total_seconds()
    names = ("years", "months", "days", "hours", "minutes", "seconds", "microseconds")
    return {name: int(getattr(interval, name)) for name in names if getattr(interval, name)}


def _is_zero(interval: Interval) -> bool:
    return interval == timedelta() or interval == relativedelta()


class _CronTimetable(_Timetable):
    def __init__(self, cron: str, timezone: Any = None) -> None:
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
    def __init__(self, delta: timedelta) -> None:
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


def _trigger_parts(interval: Interval, run_immediately: bool | timedelta) -> dict[str, Any]:
    """What a trigger timetable adds to its description: its data interval (a run covers
    [fire - interval, fire], its logical date the start) and when a DAG without start_date
    first runs; only when not Airflow's defaults (0 and False), so the description of every
    other DAG is unchanged."""
    parts: dict[str, Any] = {}
    if not _is_zero(interval):
        parts["interval"] = interval_json(interval)
    if isinstance(run_immediately, timedelta):
        parts["run_immediately"] = run_immediately.total_seconds()
    elif run_immediately is True:
        parts["run_immediately"] = True
    return parts


class CronTriggerTimetable(_CronTimetable):
    """A run at each cron time; ``interval``: its data interval ends there and starts that
    long before (its logical date); ``run_immediately`` (True, False or a timedelta): whether
    a DAG without start_date first runs at the latest past cron time (as Airflow)."""

    data_intervals = False

    def __init__(
        self,
        cron: str,
        timezone: Any = None,
        *,
        interval: Interval = timedelta(),
        run_immediately: bool | timedelta = False,
    ) -> None:
        super().__init__(cron, timezone)
        self.interval = _interval(interval, "interval")
        if not isinstance(run_immediately, bool | timedelta):
            raise AirflowException(
                f"run_immediately must be a bool or a timedelta, got {run_immediately!r}"
            )
        self.run_immediately = run_immediately

    def describe(self) -> dict[str, Any]:
        return super().describe() | _trigger_parts(self.interval, self.run_immediately)


class CronDataIntervalTimetable(_CronTimetable):
    data_intervals = True


class DeltaTriggerTimetable(_DeltaTimetable):
    """A run every ``delta``; ``interval`` as for CronTriggerTimetable."""

    data_intervals = False

    def __init__(self, delta: timedelta, *, interval: Interval = timedelta()) -> None:
        super().__init__(delta)
        self.interval = _interval(interval, "interval")

    def describe(self) -> dict[str, Any]:
        return super().describe() | _trigger_parts(self.interval, False)


class DeltaDataIntervalTimetable(_DeltaTimetable):
    data_intervals = True


class MultipleCronTriggerTimetable(_Timetable):
    """A run at each time any of the cron expressions gives (one run when several give the
    same time), each run as CronTriggerTimetable's (``interval``, ``run_immediately``)."""

    data_intervals = False

    def __init__(
        self,
        *crons: str,
        timezone: Any,
        interval: Interval = timedelta(),
        run_immediately: bool | timedelta = False,
    ) -> None:
        if not crons:
            raise ValueError("cron expression required")
        self.timetables = [
            CronTriggerTimetable(cron, timezone, interval=interval, run_immediately=run_immediately)
            for cron in crons
        ]
        self.crons = tuple(crons)
        self.timezone = _zone_name(timezone)

    def describe(self) -> dict[str, Any]:
        first = self.timetables[0]
        return {
            "kind": "multi_cron",
            "expression": ", ".join(self.crons),
            "expressions": list(self.crons),
            "timezone": self.timezone,
            "data_intervals": False,
        } | _trigger_parts(first.interval, first.run_immediately)


class EventsTimetable(_Timetable):
    """A run at each of the listed moments (Airflow's ``airflow.timetables.events``): none
    before the DAG's start_date, none already past without catchup; a manual run's data
    interval is its own moment, or with ``restrict_to_events`` the latest event at or before
    it (the first one before them all)."""

    data_intervals = False

    def __init__(
        self,
        event_dates: Any,
        restrict_to_events: bool = False,
        presorted: bool = False,
        description: str | None = None,
    ) -> None:
        events = []
        for when in event_dates:
            moment = coerce_datetime(when)
            if moment is None:
                raise AirflowException(f"EventsTimetable: not a date: {when!r}")
            events.append(moment)
        self.event_dates = events if presorted else sorted(events)
        self.restrict_to_events = bool(restrict_to_events)
        if description is None:
            if self.event_dates:
                first, last = self.event_dates[0], self.event_dates[-1]
                self.description = (
                    f"{len(self.event_dates)} events between "
                    f"{first.isoformat(sep='T')} and {last.isoformat(sep='T')}"
                )
            else:
                self.description = "No events"
            self._summary = f"{len(self.event_dates)} events"
        else:
            self.description = self._summary = description

    @property
    def summary(self) -> str:
        return self._summary

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "events",
            "expression": self.summary,
            "events": [moment.isoformat() for moment in self.event_dates],
            "restrict_to_events": self.restrict_to_events,
            "description": self.description,
            "data_intervals": False,
        }


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
