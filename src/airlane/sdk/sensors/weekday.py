"""DayOfWeekSensor (``airflow.providers.standard.sensors.weekday``): waits for a weekday."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airlane.sdk.context import Context
from airlane.sdk.operators.weekday import WeekDay
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.timezone import utcnow


class DayOfWeekSensor(BaseSensorOperator):
    """Done when today (UTC), or the run's logical date with ``use_task_logical_date``, is one
    of ``week_day`` (a name, a WeekDay, or several)."""

    def __init__(
        self,
        *,
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def poke(self, context: Context) -> bool:
        if self.use_task_logical_date:
            return context["logical_date"].isoweekday() in self._week_day_num
        return utcnow().isoweekday() in self._week_day_num


__all__ = ["DayOfWeekSensor"]
