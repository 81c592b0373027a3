"""Sensors that wait for a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from airlane.sdk.context import Context
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.timezone import coerce_datetime, utcnow


class TimeDeltaSensor(BaseSensorOperator):
    """Wait until ``delta`` after the run's data interval end."""

    def __init__(self, *, delta: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delta = delta

    def poke(self, context: Context) -> bool:
        target = context["data_interval_end"] + self.delta
        return bool(utcnow() > target)


class DateTimeSensor(BaseSensorOperator):
    """Wait until ``target_time`` (a datetime or an ISO string, templated)."""

    template_fields: ClassVar[tuple[str, ...]] = ("target_time",)

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_time = target_time

    def poke(self, context: Context) -> bool:
        target = coerce_datetime(self.target_time)
        assert target is not None
        return bool(utcnow() > target)
