"""A plugin timetable like Airflow's AfterWorkdayTimetable (no holidays): one run per weekday,
covering that day, made once the day is over."""

from __future__ import annotations

from datetime import timedelta

from pendulum import UTC, DateTime, Time

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable


def _weekday_at_or_after(day: DateTime, step: int = 1) -> DateTime:
    while day.weekday() in (5, 6):
        day = day.add(days=step)
    return day


class AfterWeekdayTimetable(Timetable):
    description = "After each weekday"

    def __init__(self, hour: int = 0) -> None:
        self.hour = hour

    @classmethod
    def deserialize(cls, data: dict) -> AfterWeekdayTimetable:
        return cls(hour=data["hour"])

    def serialize(self) -> dict:
        return {"hour": self.hour}

    @property
    def summary(self) -> str:
        return f"weekdays at {self.hour:02d}:00"

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        day = DateTime.combine((run_after - timedelta(days=1)).date(), Time.min).replace(tzinfo=UTC)
        start = _weekday_at_or_after(day, step=-1).add(hours=self.hour)
        return DataInterval(start=start, end=start + timedelta(days=1))

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            day = last_automated_data_interval.start.start_of("day").add(days=1)
        elif restriction.earliest is None:
            return None
        elif not restriction.catchup:
            day = max(restriction.earliest, DateTime.now(UTC)).start_of("day")
        else:
            day = restriction.earliest.start_of("day")
            if restriction.earliest.time() > Time(self.hour):
                day = day.add(days=1)
        start = _weekday_at_or_after(day.replace(tzinfo=UTC)).add(hours=self.hour)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=start + timedelta(days=1))


class WeekdaysPlugin(AirflowPlugin):
    name = "weekdays_plugin"
    timetables = [AfterWeekdayTimetable]
