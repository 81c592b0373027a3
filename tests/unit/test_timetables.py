"""Timetable math: presets, cron, timedelta, both semantics, time zones across DST, catchup."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta

from airlane.scheduling.timetables import (
    Kind,
    ScheduledRun,
    Timetable,
    from_serialized,
    next_run,
)

NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs(
    tt: Timetable, start: datetime | None, now: datetime, count: int, **kw: object
) -> list[ScheduledRun]:
    found: list[ScheduledRun] = []
    last = None
    for _ in range(count):
        nxt = next_run(
            tt,
            last=last,
            start_date=start,
            now=now,
            catchup=kw.get("catchup", True),
            end_date=kw.get("end_date"),
        )  # type: ignore[arg-type]
        if nxt is None:
            break
        found.append(nxt)
        last = nxt
    return found


@pytest.mark.parametrize(
    ("preset", "second"),
    [
        ("@hourly", utc(2024, 1, 1, 1)),
        ("@daily", utc(2024, 1, 2)),
        ("@weekly", utc(2024, 1, 7)),  # Sundays
        ("@monthly", utc(2024, 2, 1)),
        ("@quarterly", utc(2024, 4, 1)),
        ("@yearly", utc(2025, 1, 1)),
    ],
)
def test_each_preset_fires_on_its_grid(preset: str, second: datetime) -> None:
    tt = from_serialized({"kind": "preset", "expression": preset}, "UTC")
    first, nxt = runs(tt, utc(2024, 1, 1), utc(2030, 1, 1), 2)
    expected_first = utc(2024, 1, 1) if preset != "@weekly" else utc(2024, 1, 7)
    assert first.logical_date == expected_first
    assert nxt.logical_date == (second if preset != "@weekly" else utc(2024, 1, 14))


def test_trigger_semantics_logical_date_is_the_fire_time() -> None:
    tt = from_serialized({"kind": "cron", "expression": "30 6 * * *"}, "UTC")
    first, second = runs(tt, utc(2024, 3, 1), utc(2024, 4, 1), 2)
    assert first == ScheduledRun(*(utc(2024, 3, 1, 6, 30),) * 4)
    assert second.logical_date == utc(2024, 3, 2, 6, 30)
    assert second.data_interval_start == second.data_interval_end == second.run_after


def test_data_interval_semantics_cover_the_period_and_fire_at_its_end() -> None:
    tt = from_serialized({"kind": "preset", "expression": "@daily", "data_intervals": True}, "UTC")
    first, second = runs(tt, utc(2024, 3, 1), utc(2024, 4, 1), 2)
    assert first == ScheduledRun(utc(2024, 3, 1), utc(2024, 3, 1), utc(2024, 3, 2), utc(2024, 3, 2))
    assert second.data_interval_start == first.data_interval_end
    configured = from_serialized(
        {"kind": "preset", "expression": "@daily"}, "UTC", data_intervals_default=True
    )
    assert configured.data_intervals


def test_timedelta_schedules_step_from_the_start() -> None:
    tt = from_serialized({"kind": "timedelta", "seconds": 10}, "UTC")
    start = utc(2024, 1, 1, 0, 0, 3)
    got = [r.logical_date for r in runs(tt, start, utc(2024, 2, 1), 3)]
    assert got == [start, start + timedelta(seconds=10), start + timedelta(seconds=20)]
    intervals = from_serialized(
        {"kind": "timedelta", "seconds": 3600, "data_intervals": True}, "UTC"
    )
    first = runs(intervals, start, utc(2024, 2, 1), 1)[0]
    assert (first.data_interval_start, first.run_after) == (start, start + timedelta(hours=1))


def test_daily_cron_keeps_wall_clock_time_across_spring_forward() -> None:
    tt = from_serialized({"kind": "cron", "expression": "0 9 * * *"}, "America/New_York")
    start = datetime(2024, 3, 9, 9, tzinfo=NY)
    got = [r.logical_date.astimezone(NY) for r in runs(tt, start, utc(2024, 4, 1), 3)]
    assert [d.hour for d in got] == [9, 9, 9]
    assert [d.utcoffset() for d in got] == [
        timedelta(hours=-5),
        timedelta(hours=-4),
        timedelta(hours=-4),
    ]


def test_daily_cron_keeps_wall_clock_time_across_fall_back() -> None:
    tt = from_serialized({"kind": "cron", "expression": "0 9 * * *"}, "America/New_York")
    start = datetime(2024, 11, 2, 9, tzinfo=NY)
    got = [r.logical_date for r in runs(tt, start, utc(2024, 12, 1), 3)]
    assert [d.astimezone(NY).hour for d in got] == [9, 9, 9]
    assert got[1] - got[0] == timedelta(hours=25)  # the day the clocks go back is 25 hours


def test_a_time_that_does_not_exist_runs_once_just_after_the_gap() -> None:
    tt = from_serialized({"kind": "cron", "expression": "30 2 * * *"}, "America/New_York")
    start = datetime(2024, 3, 9, 2, 30, tzinfo=NY)
    got = [r.logical_date.astimezone(NY) for r in runs(tt, start, utc(2024, 4, 1), 3)]
    assert [(d.day, d.hour, d.minute) for d in got] == [(9, 2, 30), (10, 3, 30), (11, 2, 30)]


def test_hourly_cron_neither_skips_nor_doubles_an_hour_when_clocks_change() -> None:
    tt = from_serialized({"kind": "preset", "expression": "@hourly"}, "America/New_York")
    for start in (utc(2024, 3, 10, 5), utc(2024, 11, 3, 4)):
        got = [r.logical_date for r in runs(tt, start, utc(2025, 1, 1), 5)]
        assert [b - a for a, b in itertools.pairwise(got)] == [timedelta(hours=1)] * 4


def test_without_catchup_only_the_latest_run_is_made() -> None:
    now = utc(2024, 6, 15, 12, 34)
    trigger = from_serialized({"kind": "preset", "expression": "@daily"}, "UTC")
    made = next_run(
        trigger, last=None, start_date=utc(2020, 1, 1), end_date=None, catchup=False, now=now
    )
    assert made is not None
    assert made.logical_date == utc(2024, 6, 15)
    intervals = from_serialized(
        {"kind": "preset", "expression": "@daily", "data_intervals": True}, "UTC"
    )
    made = next_run(
        intervals, last=None, start_date=utc(2020, 1, 1), end_date=None, catchup=False, now=now
    )
    assert made is not None
    assert (made.data_interval_start, made.data_interval_end) == (
        utc(2024, 6, 14),
        utc(2024, 6, 15),
    )


def test_catchup_walks_forward_one_run_at_a_time_from_the_start() -> None:
    tt = from_serialized({"kind": "timedelta", "seconds": 10}, "UTC")
    first = next_run(
        tt, last=None, start_date=utc(2015, 1, 1), end_date=None, catchup=True, now=utc(2025, 1, 1)
    )
    assert first is not None
    assert first.logical_date == utc(2015, 1, 1)
    second = next_run(
        tt, last=first, start_date=utc(2015, 1, 1), end_date=None, catchup=True, now=utc(2025, 1, 1)
    )
    assert second is not None
    assert second.logical_date == utc(2015, 1, 1, 0, 0, 10)


def test_end_date_stops_the_schedule() -> None:
    tt = from_serialized({"kind": "preset", "expression": "@daily"}, "UTC")
    got = runs(tt, utc(2024, 1, 1), utc(2030, 1, 1), 10, end_date=utc(2024, 1, 3))
    assert [r.logical_date for r in got] == [utc(2024, 1, 1), utc(2024, 1, 2), utc(2024, 1, 3)]


def test_once_none_and_continuous() -> None:
    once = from_serialized({"kind": "preset", "expression": "@once"}, "UTC")
    first = next_run(
        once,
        last=None,
        start_date=utc(2024, 1, 1),
        end_date=None,
        catchup=False,
        now=utc(2025, 1, 1),
    )
    assert first is not None
    assert first.logical_date == utc(2024, 1, 1)
    assert (
        next_run(
            once,
            last=first,
            start_date=utc(2024, 1, 1),
            end_date=None,
            catchup=False,
            now=utc(2025, 1, 1),
        )
        is None
    )
    none = from_serialized({"kind": "none"}, "UTC")
    assert none.kind is Kind.NONE
    assert (
        next_run(
            none, last=None, start_date=None, end_date=None, catchup=False, now=utc(2025, 1, 1)
        )
        is None
    )
    continuous = from_serialized({"kind": "preset", "expression": "@continuous"}, "UTC")
    made = next_run(
        continuous, last=first, start_date=None, end_date=None, catchup=False, now=utc(2025, 1, 1)
    )
    assert made is not None
    assert made.logical_date == utc(2025, 1, 1)


def test_a_dag_without_start_date_runs_the_recent_past_fire_or_waits() -> None:
    tt = from_serialized({"kind": "preset", "expression": "@hourly"}, "UTC")
    soon_after = next_run(
        tt, last=None, start_date=None, end_date=None, catchup=True, now=utc(2024, 1, 1, 10, 3)
    )
    assert soon_after is not None
    assert soon_after.logical_date == utc(2024, 1, 1, 10)
    long_after = next_run(
        tt, last=None, start_date=None, end_date=None, catchup=True, now=utc(2024, 1, 1, 10, 30)
    )
    assert long_after is not None
    assert long_after.logical_date == utc(2024, 1, 1, 11)


def test_pendulum_datetimes_in_are_plain_utc_out() -> None:
    import pendulum

    tt = from_serialized({"kind": "timedelta", "seconds": 10}, "UTC")
    start = pendulum.datetime(2015, 1, 1, tz="UTC")
    first = next_run(
        tt, last=None, start_date=start, end_date=None, catchup=True, now=utc(2025, 1, 1)
    )
    assert first is not None
    second = next_run(
        tt, last=first, start_date=start, end_date=None, catchup=True, now=utc(2025, 1, 1)
    )
    assert second is not None
    assert second.logical_date == utc(2015, 1, 1, 0, 0, 10)
    assert second.logical_date.tzinfo is UTC


def test_relativedelta_schedules_step_by_calendar_months() -> None:
    from dateutil.relativedelta import relativedelta

    from airlane.sdk.schedules import describe_schedule

    tt = from_serialized(describe_schedule(relativedelta(months=1)), "UTC")
    got = [r.logical_date for r in runs(tt, utc(2024, 1, 31), utc(2030, 1, 1), 3)]
    assert got == [utc(2024, 1, 31), utc(2024, 2, 29), utc(2024, 3, 29)]


# ---- a trigger timetable's interval and run_immediately (Airflow's CronTriggerTimetable and
# DeltaTriggerTimetable); the expected runs are real Airflow 3.3.2's next_dagrun_info (logical
# date, data interval start and end, run after), catchup from 2024-01-01 00:00 UTC

START = utc(2024, 1, 1)


def _described(timetable: object) -> Timetable:
    from airlane.sdk.schedules import describe_schedule

    return from_serialized(describe_schedule(timetable), "UTC")


def _dates(run: ScheduledRun) -> tuple[datetime, datetime, datetime, datetime]:
    return (run.logical_date, run.data_interval_start, run.data_interval_end, run.run_after)


def test_a_trigger_interval_ends_at_the_fire_time_and_starts_the_logical_date() -> None:
    from airlane.sdk.timetables import CronTriggerTimetable, DeltaTriggerTimetable

    daily = _described(
        CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(hours=6))
    )
    first, second = runs(daily, START, utc(2030, 1, 1), 2)
    assert _dates(first) == (
        utc(2024, 1, 1),
        utc(2024, 1, 1),
        utc(2024, 1, 1, 6),
        utc(2024, 1, 1, 6),
    )
    assert _dates(second)[0] == utc(2024, 1, 2)
    monthly = _described(
        CronTriggerTimetable(
            "0 0 1 * *", timezone="Europe/Amsterdam", interval=relativedelta(months=1)
        )
    )
    first, second = runs(monthly, START, utc(2030, 1, 1), 2)
    assert _dates(first) == (
        utc(2023, 12, 31, 23),
        utc(2023, 12, 31, 23),
        utc(2024, 1, 31, 23),
        utc(2024, 1, 31, 23),
    )
    assert _dates(second)[:3] == (utc(2024, 1, 29, 23), utc(2024, 1, 29, 23), utc(2024, 2, 29, 23))
    every = _described(DeltaTriggerTimetable(timedelta(hours=2), interval=timedelta(minutes=30)))
    first, second = runs(every, START, utc(2030, 1, 1), 2)
    assert _dates(first) == (utc(2023, 12, 31, 23, 30), utc(2023, 12, 31, 23, 30), START, START)
    assert _dates(second)[:3] == (
        utc(2024, 1, 1, 1, 30),
        utc(2024, 1, 1, 1, 30),
        utc(2024, 1, 1, 2),
    )


def test_a_manual_run_of_a_trigger_interval_covers_the_interval_before_it() -> None:
    from airlane.scheduling.manual_runs import interval_for
    from airlane.sdk.schedules import describe_schedule
    from airlane.sdk.timetables import CronTriggerTimetable

    daily = describe_schedule(
        CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(hours=6))
    )
    assert interval_for(daily, utc(2024, 3, 5, 12)) == (utc(2024, 3, 5, 6), utc(2024, 3, 5, 12))
    plain = describe_schedule(CronTriggerTimetable("0 6 * * *", timezone="UTC"))
    assert interval_for(plain, utc(2024, 3, 5, 12)) == (utc(2024, 3, 5, 12), utc(2024, 3, 5, 12))


@pytest.mark.parametrize(
    ("immediately", "first"),
    [
        (False, utc(2024, 1, 1, 1)),  # 40 minutes is past a tenth of the hour (6, at least 5)
        (True, utc(2024, 1, 1)),
        (timedelta(hours=1), utc(2024, 1, 1)),
        (timedelta(minutes=30), utc(2024, 1, 1, 1)),
    ],
)
def test_run_immediately_picks_a_dag_without_start_date_s_first_run(
    immediately: bool | timedelta, first: datetime
) -> None:
    from airlane.sdk.timetables import CronTriggerTimetable

    hourly = _described(
        CronTriggerTimetable("0 * * * *", timezone="UTC", run_immediately=immediately)
    )
    (found,) = runs(hourly, None, utc(2024, 1, 1, 0, 40), 1)
    assert found.logical_date == first


def test_airflow_s_defaults_leave_the_description_as_it_was() -> None:
    from airlane.sdk.timetables import (
        CronDataIntervalTimetable,
        CronTriggerTimetable,
        DeltaTriggerTimetable,
    )

    assert CronTriggerTimetable("0 * * * *", timezone="UTC").describe() == {
        "kind": "cron",
        "expression": "0 * * * *",
        "timezone": "UTC",
        "data_intervals": False,
    }
    described = CronTriggerTimetable(
        "0 * * * *", timezone="UTC", interval=timedelta(hours=1), run_immediately=True
    ).describe()
    assert (described["interval"], described["run_immediately"]) == (3600.0, True)
    assert "interval" not in DeltaTriggerTimetable(timedelta(hours=1)).describe()
    with pytest.raises(TypeError):
        CronDataIntervalTimetable("0 * * * *", "UTC", interval=timedelta(hours=1))  # type: ignore[call-arg]


# ---- EventsTimetable and MultipleCronTriggerTimetable: the runs real Airflow 3.3.2's
# next_dagrun_info gives, catchup from 2024-01-01 00:00 UTC


def test_events_run_at_each_listed_moment_in_order() -> None:
    from airlane.sdk.timetables import EventsTimetable

    listed = [utc(2024, 1, 5, 10), utc(2024, 1, 2, 8), utc(2024, 2, 1)]
    events = EventsTimetable(listed, restrict_to_events=True)
    assert (events.summary, events.description) == (
        "3 events",
        "3 events between 2024-01-02T08:00:00+00:00 and 2024-02-01T00:00:00+00:00",
    )
    tt = _described(events)
    assert [r.logical_date for r in runs(tt, START, utc(2030, 1, 1), 5)] == sorted(listed)
    assert len(runs(tt, START, utc(2030, 1, 1), 5, end_date=utc(2024, 1, 20))) == 2
    # without catchup: none of those already past
    assert [r.logical_date for r in runs(tt, START, utc(2024, 1, 3), 5, catchup=False)] == [
        utc(2024, 1, 5, 10),
        utc(2024, 2, 1),
    ]


def test_a_manual_run_of_events_restricted_takes_the_latest_event() -> None:
    from airlane.scheduling.manual_runs import interval_for
    from airlane.sdk.schedules import describe_schedule
    from airlane.sdk.timetables import EventsTimetable

    listed = [utc(2024, 1, 5, 10), utc(2024, 1, 2, 8), utc(2024, 2, 1)]
    restricted = describe_schedule(EventsTimetable(listed, restrict_to_events=True))
    assert interval_for(restricted, utc(2024, 1, 10)) == (utc(2024, 1, 5, 10), utc(2024, 1, 5, 10))
    assert interval_for(restricted, utc(2023, 1, 1)) == (utc(2024, 1, 2, 8), utc(2024, 1, 2, 8))
    free = describe_schedule(EventsTimetable(listed))
    assert interval_for(free, utc(2024, 1, 10)) == (utc(2024, 1, 10), utc(2024, 1, 10))


def test_multiple_crons_fire_on_each_grid_once() -> None:
    from airlane.sdk.timetables import MultipleCronTriggerTimetable

    both = _described(MultipleCronTriggerTimetable("0 6 * * *", "30 18 * * *", timezone="UTC"))
    assert [r.logical_date for r in runs(both, START, utc(2030, 1, 1), 4)] == [
        utc(2024, 1, 1, 6),
        utc(2024, 1, 1, 18, 30),
        utc(2024, 1, 2, 6),
        utc(2024, 1, 2, 18, 30),
    ]
    overlapping = MultipleCronTriggerTimetable(
        "0 6 * * *", "0 6 * * 1", timezone="Europe/Amsterdam", interval=timedelta(hours=1)
    )
    found = runs(_described(overlapping), START, utc(2030, 1, 1), 3)
    assert [_dates(r)[:3] for r in found] == [
        (utc(2024, 1, 1, 4), utc(2024, 1, 1, 4), utc(2024, 1, 1, 5)),
        (utc(2024, 1, 2, 4), utc(2024, 1, 2, 4), utc(2024, 1, 2, 5)),
        (utc(2024, 1, 3, 4), utc(2024, 1, 3, 4), utc(2024, 1, 3, 5)),
    ]
    # without catchup: the latest time not after now, whichever cron gives it
    (latest,) = runs(both, START, utc(2024, 3, 1, 20), 1, catchup=False)
    assert latest.logical_date == utc(2024, 3, 1, 18, 30)


def test_the_api_shows_events_and_several_crons_by_their_summaries() -> None:
    from airlane.api.shapes import _schedule_shown
    from airlane.sdk.schedules import describe_schedule
    from airlane.sdk.timetables import EventsTimetable, MultipleCronTriggerTimetable

    events = describe_schedule(EventsTimetable([utc(2024, 1, 2)], description="Match days"))
    assert _schedule_shown(events) == ("Match days", "Match days", True)
    crons = describe_schedule(
        MultipleCronTriggerTimetable("0 6 * * *", "0 18 * * *", timezone="UTC")
    )
    assert _schedule_shown(crons)[0] == "0 6 * * *, 0 18 * * *"
