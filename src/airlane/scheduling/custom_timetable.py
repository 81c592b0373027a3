"""Custom timetables in the scheduler: re-created from a serialized DAG, asked for runs.

A serialized DAG holds a custom timetable as its class path and ``serialize()`` output
(``sdk.schedules.describe_custom``); the class is looked up among those the plugins folder
registers (``dag_loader.plugins``) and re-created with ``deserialize()``, as Airflow's
scheduler does: the DAG file itself is never imported here. The user's methods see pendulum
datetimes, as in Airflow; what they return is brought back to plain UTC datetimes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pendulum

from airlane.dag_loader import plugins
from airlane.sdk.timetable_base import DagRunType, DataInterval, TimeRestriction

log = logging.getLogger("airlane.scheduler")

#: logical date, data interval start and end, run after
RunDates = tuple[datetime, datetime, datetime, datetime]


class TimetableNotRegistered(ValueError):
    """The class of a serialized custom timetable is not registered by any plugin."""


def resolve(schedule: dict[str, Any]) -> Any:
    """The timetable object of a serialized ``{"kind": "custom", "class", "value"}``."""
    path = str(schedule.get("class"))
    cls = plugins.timetable_class(path)
    if cls is None:
        broken = plugins.import_errors()
        detail = f"; plugins that failed to load: {sorted(broken)}" if broken else ""
        raise TimetableNotRegistered(
            f"Timetable class {path!r} is not registered by any plugin "
            f"(${plugins.PLUGINS_FOLDER_ENV}){detail}"
        )
    try:
        return cls.deserialize(schedule.get("value") or {})
    except Exception as err:
        raise TimetableNotRegistered(
            f"Timetable class {path!r} cannot re-create its timetable: {type(err).__name__}: {err}"
        ) from err


def _pendulum(moment: datetime | None) -> Any:
    if moment is None:
        return None
    return pendulum.instance(moment.astimezone(UTC))


def _plain(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a timetable returned a naive datetime: {moment!r}")
    d = moment.astimezone(UTC)
    return datetime(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, tzinfo=UTC)


def next_dates(
    timetable: Any,
    *,
    last_interval: tuple[datetime, datetime] | None,
    start_date: datetime | None,
    end_date: datetime | None,
    catchup: bool,
) -> RunDates | None:
    """The timetable's ``next_dagrun_info`` after ``last_interval`` within the DAG's dates;
    None when it plans no run or fails (logged, as Airflow's scheduler does)."""
    last = DataInterval(*map(_pendulum, last_interval)) if last_interval else None
    restriction = TimeRestriction(_pendulum(start_date), _pendulum(end_date), catchup)
    try:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            return None
        start, end = info.data_interval
        return _plain(start), _plain(start), _plain(end), _plain(info.run_after)
    except Exception:
        log.exception("%s failed to give the run after %s", type(timetable).__name__, last)
        return None


def manual_interval(timetable: Any, run_after: datetime) -> tuple[datetime, datetime]:
    """``infer_manual_data_interval``: the data interval of a run triggered at ``run_after``."""
    start, end = timetable.infer_manual_data_interval(run_after=_pendulum(run_after))
    return _plain(start), _plain(end)


def run_id(timetable: Any, run_type: str, dates: RunDates) -> str:
    """The timetable's ``generate_run_id`` as Airflow's scheduler calls it: ``run_after`` is
    the run's logical date there (``DagModel.next_dagrun``), and Airflow 2's ``logical_date``
    is passed too (an extra keyword for Airflow 3's signature)."""
    logical, start, end, _ = map(_pendulum, dates)
    return str(
        timetable.generate_run_id(
            run_type=DagRunType(run_type),
            run_after=logical,
            data_interval=DataInterval(start, end),
            logical_date=logical,
        )
    )
