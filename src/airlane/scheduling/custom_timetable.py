"""Custom timetables in the scheduler: re-created from a serialized DAG, asked for runs.

A serialized DAG holds a custom timetable as its class path and ``serialize()`` output
(``sdk.schedules.describe_custom``); the class is looked up among those the plugins folder
registers (``dag_loader.plugins``) and re-created with ``deserialize()``, as Airflow's
scheduler does: the DAG file itself is never imported here. The user's methods see pendulum
datetimes, as in Airflow; what they return is brought back to plain UTC datetimes.

Every call into the user's timetable goes through ``guarded``: whatever it raises becomes a
``TimetableError`` naming the call, which the scheduler shows as the DAG's import error (and
stops scheduling that DAG) instead of letting it reach the coordinator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pendulum

from airlane.dag_loader import plugins
from airlane.sdk.timetable_base import DagRunType, DataInterval, TimeRestriction

#: logical date, data interval start and end, run after
RunDates = tuple[datetime, datetime, datetime, datetime]

T = TypeVar("T")


class TimetableError(ValueError):
    """The user's timetable code failed (raised, or gave an unusable answer)."""


class TimetableNotRegistered(TimetableError):
    """The class of a serialized custom timetable is not registered by any plugin, or cannot
    re-create its timetable."""


def guarded(what: str, call: Callable[[], T]) -> T:
    """``call()``, a call into the user's timetable code described by ``what``: any exception
    it raises comes out as a TimetableError."""
    try:
        return call()
    except TimetableError:
        raise
    except Exception as err:
        raise TimetableError(f"{what} failed: {type(err).__name__}: {err}") from err


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
        value = schedule.get("value") or {}
        return guarded(f"{path}.deserialize()", lambda: cls.deserialize(value))
    except TimetableError as err:
        raise TimetableNotRegistered(
            f"Timetable class {path!r} cannot re-create its timetable: {err}"
        ) from err


def attribute(timetable: Any, name: str) -> Any:
    """One of the timetable's attributes (``can_be_scheduled``, ``periodic``, ``summary``...:
    properties run the user's code)."""
    return guarded(f"{type(timetable).__name__}.{name}", lambda: getattr(timetable, name))


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
    None when it plans no run. Raises TimetableError when it fails (Airflow's scheduler logs
    the failure and plans no run: Airlane shows it as the DAG's import error too)."""
    last = DataInterval(*map(_pendulum, last_interval)) if last_interval else None
    restriction = TimeRestriction(_pendulum(start_date), _pendulum(end_date), catchup)

    def ask() -> RunDates | None:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            return None
        start, end = info.data_interval
        return _plain(start), _plain(start), _plain(end), _plain(info.run_after)

    return guarded(f"{type(timetable).__name__}.next_dagrun_info()", ask)


def manual_interval(timetable: Any, run_after: datetime) -> tuple[datetime, datetime]:
    """``infer_manual_data_interval``: the data interval of a run triggered at ``run_after``."""

    def ask() -> tuple[datetime, datetime]:
        start, end = timetable.infer_manual_data_interval(run_after=_pendulum(run_after))
        return _plain(start), _plain(end)

    return guarded(f"{type(timetable).__name__}.infer_manual_data_interval()", ask)


def run_id(timetable: Any, run_type: str, dates: RunDates) -> str:
    """The timetable's ``generate_run_id`` as Airflow's scheduler calls it: ``run_after`` is
    the run's logical date there (``DagModel.next_dagrun``), and Airflow 2's ``logical_date``
    is passed too (an extra keyword for Airflow 3's signature)."""
    logical, start, end, _ = map(_pendulum, dates)
    return guarded(
        f"{type(timetable).__name__}.generate_run_id()",
        lambda: str(
            timetable.generate_run_id(
                run_type=DagRunType(run_type),
                run_after=logical,
                data_interval=DataInterval(start, end),
                logical_date=logical,
            )
        ),
    )
