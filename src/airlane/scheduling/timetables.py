"""When scheduled runs happen, with Airflow's semantics (pure: no I/O, ``now`` passed in).

Airflow 3's default ("trigger" timetables): a run's logical date is the time it fires and its
data interval is empty (start = end = logical date). Airflow 2's ("data interval" timetables,
``data_intervals=True``): a run covers [start, end) and fires at the end; its logical date is
the start. Cron expressions are evaluated in the DAG's time zone (its start_date's), so a daily
run stays at the same wall-clock time across daylight-saving changes; crons that fire every
hour are stepped in UTC so that no hour is skipped or doubled when clocks change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from dateutil.relativedelta import relativedelta

from airlane.engine.dag_spec import DagSpec
from airlane.scheduling import custom_timetable
from airlane.sdk.schedules import PRESETS

#: the presets that stand for a cron expression (``@once`` and ``@continuous`` do not)
PRESET_CRONS = {name: cron for name, cron in PRESETS.items() if cron is not None}
_TINY = timedelta(microseconds=1)


class Kind(enum.StrEnum):
    NONE = "none"
    ONCE = "once"
    CONTINUOUS = "continuous"
    CRON = "cron"
    DELTA = "delta"
    #: a user's Timetable subclass (``custom``), asked through its own methods
    CUSTOM = "custom"
    #: EventsTimetable: a run at each listed moment
    EVENTS = "events"


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_after: datetime


@dataclass(frozen=True, slots=True)
class Timetable:
    kind: Kind
    cron: str | None = None
    delta: timedelta | relativedelta | None = None
    timezone: str = "UTC"
    data_intervals: bool = False
    #: a trigger timetable's data interval: a run fired at T covers [T - interval, T] and its
    #: logical date is T - interval (Airflow's DagRunInfo.interval; 0: the fire time alone)
    interval: timedelta | relativedelta = timedelta()
    #: a trigger timetable's first run for a DAG without start_date (Airflow's
    #: run_immediately: True, the latest past fire time; a timedelta, that one if it is at
    #: most that old; False, the same within a tenth of the period, at least 5 minutes)
    run_immediately: bool | timedelta = False
    #: MultipleCronTriggerTimetable's expressions (``cron`` is the first), each its own grid
    crons: tuple[str, ...] = ()
    #: EventsTimetable's moments (UTC, in order) and whether a manual run takes the latest
    events: tuple[datetime, ...] = ()
    restrict_to_events: bool = False
    #: the re-created custom timetable (Kind.CUSTOM)
    custom: Any = field(default=None, compare=False)

    @property
    def periodic(self) -> bool:
        if self.kind is Kind.CUSTOM:
            return bool(custom_timetable.attribute(self.custom, "periodic"))
        return self.kind in (Kind.CRON, Kind.DELTA, Kind.EVENTS)

    def run_id(self, run_type: str, run: ScheduledRun) -> str:
        """The id of a run of this timetable (a custom one's ``generate_run_id``)."""
        if self.kind is Kind.CUSTOM:
            dates = (run.logical_date, run.data_interval_start, run.data_interval_end)
            return custom_timetable.run_id(self.custom, run_type, (*dates, run.run_after))
        return f"{run_type}__{run.logical_date.isoformat()}"

    # ---- the grid of fire times -----------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    def _hourly(self) -> bool:
        assert self.cron is not None
        return self.cron.split()[1] == "*"

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment``."""
        if self.kind is Kind.DELTA:
            assert self.delta is not None
            return moment + self.delta
        assert self.cron is not None
        if self._hourly():
            naive = moment.astimezone(UTC).replace(tzinfo=None)
            found = croniter(self.cron, naive).get_next(datetime)
            return found.replace(tzinfo=UTC)
        zone = self._zone()
        local = moment.astimezone(zone).replace(tzinfo=None)
        cursor = croniter(self.cron, local)
        while True:
            candidate = cursor.get_next(datetime).replace(tzinfo=zone).astimezone(UTC)
            if candidate > moment:
                return candidate

    def prev_at_or_before(self, moment: datetime) -> datetime:
        """The last fire time at or before ``moment``."""
        if self.kind is Kind.DELTA:
            return moment
        assert self.cron is not None
        if self._hourly():
            naive = (moment + _TINY).astimezone(UTC).replace(tzinfo=None)
            return croniter(self.cron, naive).get_prev(datetime).replace(tzinfo=UTC)
        zone = self._zone()
        local = (moment + _TINY).astimezone(zone).replace(tzinfo=None)
        cursor = croniter(self.cron, local)
        while True:
            candidate = cursor.get_prev(datetime).replace(tzinfo=zone).astimezone(UTC)
            if candidate <= moment:
                return candidate

    def prev_before(self, moment: datetime) -> datetime:
        if self.kind is Kind.DELTA:
            assert self.delta is not None
            return moment - self.delta
        return self.prev_at_or_before(moment - _TINY)

    def align_up(self, moment: datetime) -> datetime:
        """``moment`` when it is a fire time, else the next one."""
        if self.kind is Kind.DELTA:
            return moment
        return self.next_after(moment - _TINY)


def from_serialized(
    schedule: dict[str, Any], timezone: str, *, data_intervals_default: bool = False
) -> Timetable:
    """The timetable of a serialized DAG's ``schedule`` (see ``sdk.schedules``)."""
    kind = schedule.get("kind", "none")
    intervals = schedule.get("data_intervals")
    data_intervals = data_intervals_default if intervals is None else bool(intervals)
    tz = schedule.get("timezone") or timezone or "UTC"
    expression = schedule.get("expression")
    if kind == "asset_or_time":  # the time part; the asset part is the coordinator's
        return from_serialized(
            dict(schedule.get("timetable") or {}),
            timezone,
            data_intervals_default=data_intervals_default,
        )
    if kind == "custom":
        return Timetable(Kind.CUSTOM, timezone=tz, custom=custom_timetable.resolve(schedule))
    if kind == "preset" and expression == "@once":
        return Timetable(Kind.ONCE, timezone=tz)
    if kind == "preset" and expression == "@continuous":
        return Timetable(Kind.CONTINUOUS, timezone=tz)
    if kind == "preset":
        return Timetable(
            Kind.CRON,
            cron=PRESET_CRONS[str(expression)],
            timezone=tz,
            data_intervals=data_intervals,
        )
    trigger = trigger_options(schedule)
    if kind == "cron":
        return Timetable(
            Kind.CRON, cron=str(expression), timezone=tz, data_intervals=data_intervals, **trigger
        )
    if kind == "multi_cron":
        crons = tuple(str(c) for c in schedule.get("expressions") or ())
        return Timetable(Kind.CRON, cron=crons[0], crons=crons, timezone=tz, **trigger)
    if kind == "events":
        events = tuple(plain_utc(datetime.fromisoformat(e)) for e in schedule.get("events") or ())
        restrict = bool(schedule.get("restrict_to_events"))
        return Timetable(Kind.EVENTS, timezone=tz, events=events, restrict_to_events=restrict)
    if kind == "timedelta":
        seconds = float(schedule["seconds"])
        delta = timedelta(seconds=seconds)
        return Timetable(
            Kind.DELTA, delta=delta, timezone=tz, data_intervals=data_intervals, **trigger
        )
    if kind == "relativedelta" and schedule.get("fields"):
        step = _relativedelta(schedule["fields"])
        return Timetable(Kind.DELTA, delta=step, timezone=tz, data_intervals=data_intervals)
    return Timetable(Kind.NONE, timezone=tz)


def _relativedelta(fields: dict[str, Any]) -> relativedelta:
    """A relativedelta from its described non-zero fields (sdk/schedules.py, sdk/timetables.py)."""
    f = {k: int(v) for k, v in fields.items()}
    return relativedelta(
        years=f.get("years", 0),
        months=f.get("months", 0),
        days=f.get("days", 0),
        hours=f.get("hours", 0),
        minutes=f.get("minutes", 0),
        seconds=f.get("seconds", 0),
        microseconds=f.get("microseconds", 0),
    )


def trigger_options(schedule: dict[str, Any]) -> dict[str, Any]:
    """A trigger timetable's ``interval`` and ``run_immediately`` from its description
    (sdk/timetables.py writes them only when they are not Airflow's defaults)."""
    options: dict[str, Any] = {}
    interval = schedule.get("interval")
    if isinstance(interval, dict):
        options["interval"] = _relativedelta(interval)
    elif interval:
        options["interval"] = timedelta(seconds=float(interval))
    immediately = schedule.get("run_immediately")
    if immediately is True:
        options["run_immediately"] = True
    elif isinstance(immediately, int | float) and not isinstance(immediately, bool):
        options["run_immediately"] = timedelta(seconds=float(immediately))
    return options


def manual_data_interval(
    schedule: dict[str, Any], run_after: datetime
) -> tuple[datetime, datetime] | None:
    """The data interval of a run triggered at ``run_after`` of a trigger timetable with an
    ``interval`` (Airflow's ``infer_manual_data_interval``: [run_after - interval, run_after]);
    None for every other schedule (custom ones infer theirs: custom_timetable)."""
    if schedule.get("kind") == "asset_or_time":
        return manual_data_interval(dict(schedule.get("timetable") or {}), run_after)
    if schedule.get("kind") == "events":
        return _events_manual_interval(from_serialized(schedule, "UTC"), run_after)
    if schedule.get("kind") not in ("cron", "timedelta", "multi_cron"):
        return None
    if schedule.get("data_intervals"):
        return None
    interval = trigger_options(schedule).get("interval")
    if interval is None:
        return None
    return run_after - interval, run_after


def _events_manual_interval(tt: Timetable, run_after: datetime) -> tuple[datetime, datetime] | None:
    """EventsTimetable's infer_manual_data_interval: with restrict_to_events, the latest event
    at or before ``run_after`` (the first event when ``run_after`` is before them all)."""
    if not tt.restrict_to_events or not tt.events:
        return None
    moment = plain_utc(run_after)
    past = [event for event in tt.events if event <= moment]
    chosen = past[-1] if past else tt.events[0]
    return chosen, chosen


def plain_utc(moment: datetime) -> datetime:
    """``moment`` as a standard-library datetime in UTC (pendulum's DateTime loses its zone
    in some arithmetic with stdlib zones; the math here stays with stdlib objects)."""
    d = moment.astimezone(UTC)
    return datetime(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, tzinfo=UTC)


def _plain_run(run: ScheduledRun | None) -> ScheduledRun | None:
    if run is None:
        return None
    return ScheduledRun(
        plain_utc(run.logical_date),
        plain_utc(run.data_interval_start),
        plain_utc(run.data_interval_end),
        plain_utc(run.run_after),
    )


def _point(moment: datetime) -> ScheduledRun:
    return ScheduledRun(moment, moment, moment, moment)


def _first_without_start(tt: Timetable, now: datetime) -> datetime:
    """Airflow's first trigger when a DAG has no start_date: the latest past fire time if it
    was less than a tenth of the period (at least 5 minutes) ago, else the next one; with
    ``run_immediately`` True the latest past one, with a timedelta that one if it is at most
    that old."""
    past = tt.prev_at_or_before(now)
    if tt.run_immediately is True:
        return past
    upcoming = tt.next_after(now)
    if isinstance(tt.run_immediately, timedelta):
        buffer = tt.run_immediately
    else:
        buffer = max((upcoming - past) / 10, timedelta(minutes=5))
    return past if now - past <= buffer else upcoming


def next_run(
    tt: Timetable,
    *,
    last: ScheduledRun | None,
    start_date: datetime | None,
    end_date: datetime | None,
    catchup: bool,
    now: datetime,
) -> ScheduledRun | None:
    """The next run to create after ``last`` (the latest scheduled run), or None for none."""
    last = _plain_run(last)
    start_date = plain_utc(start_date) if start_date is not None else None
    end_date = plain_utc(end_date) if end_date is not None else None
    now = plain_utc(now)
    if tt.kind is Kind.NONE:
        return None
    if tt.kind is Kind.CUSTOM:
        return _next_custom(tt, last, start_date, end_date, catchup)
    if tt.kind is Kind.EVENTS:
        return _next_event(tt, last, start_date, end_date, catchup, now)
    if tt.kind is Kind.ONCE:
        if last is not None:
            return None
        return _point(start_date or now)
    if tt.kind is Kind.CONTINUOUS:
        moment = max(now, start_date) if start_date else now
        found = _point(moment)
    elif tt.data_intervals:
        found = _next_interval(tt, last, start_date, catchup, now)
    else:
        fire = _next_trigger_fire(tt, last, start_date, catchup, now)
        if end_date is not None and fire > end_date:  # (Airflow: the fire time, not the start)
            return None
        start = fire - tt.interval
        return ScheduledRun(start, start, fire, fire)
    if end_date is not None and found.logical_date > end_date:
        return None
    return found


def _next_custom(
    tt: Timetable,
    last: ScheduledRun | None,
    start_date: datetime | None,
    end_date: datetime | None,
    catchup: bool,
) -> ScheduledRun | None:
    """A custom timetable decides alone, end date included (Airflow passes it the DAG's
    dates as a TimeRestriction and takes its answer as is)."""
    if not custom_timetable.attribute(tt.custom, "can_be_scheduled"):
        return None
    interval = (last.data_interval_start, last.data_interval_end) if last else None
    dates = custom_timetable.next_dates(
        tt.custom,
        last_interval=interval,
        start_date=start_date,
        end_date=end_date,
        catchup=catchup,
    )
    return ScheduledRun(*dates) if dates is not None else None


def _next_event(
    tt: Timetable,
    last: ScheduledRun | None,
    start_date: datetime | None,
    end_date: datetime | None,
    catchup: bool,
    now: datetime,
) -> ScheduledRun | None:
    """EventsTimetable's next_dagrun_info: the first event not before the start (now, without
    catchup) and after the latest run."""
    earliest = start_date
    if not catchup and (earliest is None or now > earliest):
        earliest = now
    for event in tt.events:
        if earliest is not None and event < earliest:
            continue
        if last is not None and event <= last.data_interval_end:
            continue
        if end_date is not None and event > end_date:
            return None
        return _point(event)
    return None


def _next_trigger_fire(
    tt: Timetable,
    last: ScheduledRun | None,
    start_date: datetime | None,
    catchup: bool,
    now: datetime,
) -> datetime:
    """The next fire time; for several crons (MultipleCronTriggerTimetable) each one's, the
    one Airflow picks: the earliest with catchup, else the latest not after now (the earliest
    after it when none is)."""
    if len(tt.crons) < 2:
        return _next_trigger(tt, last, start_date, catchup, now)
    fires = [
        _next_trigger(replace(tt, cron=cron, crons=()), last, start_date, catchup, now)
        for cron in tt.crons
    ]
    if catchup:
        return min(fires)
    past = [fire for fire in fires if fire - tt.interval <= now]  # (by logical date)
    return max(past) if past else min(fires)


def _next_trigger(
    tt: Timetable,
    last: ScheduledRun | None,
    start_date: datetime | None,
    catchup: bool,
    now: datetime,
) -> datetime:
    if catchup:
        if last is not None:
            return tt.next_after(last.data_interval_end)
        if start_date is None:
            return _first_without_start(tt, now)
        return tt.align_up(start_date)
    candidates = [tt.prev_at_or_before(now)]
    if last is not None:
        candidates.append(tt.next_after(last.data_interval_end))
    elif start_date is None:
        candidates.append(_first_without_start(tt, now))
    if start_date is not None:
        candidates.append(tt.align_up(start_date))
    return max(candidates)


def _next_interval(
    tt: Timetable,
    last: ScheduledRun | None,
    start_date: datetime | None,
    catchup: bool,
    now: datetime,
) -> ScheduledRun:
    if last is not None:
        start = last.data_interval_end
    elif start_date is not None:
        start = tt.align_up(start_date)
    else:
        start = tt.prev_before(tt.prev_at_or_before(now))
    if not catchup:
        # Only the latest complete interval: the one that ends at the last fire time.
        latest_end = tt.prev_at_or_before(now)
        start = max(start, tt.prev_before(latest_end))
    end = tt.next_after(start)
    return ScheduledRun(start, start, end, end)


def spec_timetable(spec: DagSpec, data_intervals_default: bool = False) -> Timetable:
    """The timetable of a DAG (its ``schedule`` in its ``timezone``)."""
    return from_serialized(
        dict(spec.schedule), spec.timezone, data_intervals_default=data_intervals_default
    )
