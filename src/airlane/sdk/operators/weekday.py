"""BranchDayOfWeekOperator and the WeekDay enum (Airflow's standard provider)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from airlane.sdk.context import Context
from airlane.sdk.operators.python import BaseBranchOperator
from airlane.sdk.timezone import make_naive, utcnow


@enum.unique
class WeekDay(enum.IntEnum):
    """The days of the week by ISO number (Monday is 1)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> WeekDay:
        """The day named ``week_day_str`` (full name, any case: "Sunday")."""
        name = week_day_str.upper()
        if name not in cls.__members__:
            raise AttributeError(f'Invalid Week Day passed: "{week_day_str}"')
        return cls[name]

    @classmethod
    def convert(cls, day: str | WeekDay) -> int:
        return day if isinstance(day, WeekDay) else cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day: Any) -> set[int]:
        """The day numbers of a day, a day name, or an iterable of either."""
        if isinstance(week_day, WeekDay):
            week_day = {week_day}
        if not isinstance(week_day, Iterable):
            raise TypeError(
                f"Unsupported Type for week_day parameter: {type(week_day)}. Input should be "
                "iterable type: str, set, list, dict or Weekday enum type"
            )
        if isinstance(week_day, str):
            week_day = {week_day}
        return {cls.convert(item) for item in week_day}


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follow ``follow_task_ids_if_true`` when today (or the logical date's day, with
    ``use_task_logical_date``) is one of ``week_day``, else ``follow_task_ids_if_false``.
    Today is the day in the DAG's time zone."""

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        week_day: str | Iterable[str] | WeekDay | Iterable[WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def choose_branch(self, context: Context) -> str | Iterable[str]:
        if self.use_task_logical_date:
            now = context.get("logical_date") or context["dag_run"].logical_date
        else:
            now = make_naive(utcnow(), self.dag.timezone if self.dag else None)
        if now.isoweekday() in self._week_day_num:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false
