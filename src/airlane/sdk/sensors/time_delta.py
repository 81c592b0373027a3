"""Sensors that wait for a time."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from airlane.sdk.context import Context
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.timezone import coerce_datetime, convert_to_utc, parse_timezone, utcnow


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


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """Airflow 2's deferring TimeDeltaSensor (``airflow.sensors.time_delta``).

    Airlane has no triggerer yet (deferral is a separate issue): this is a poking equivalent
    with the same end state. It waits in ``mode="reschedule"`` unless told otherwise, so that,
    as a deferred task does, it holds no worker slot between pokes; it succeeds at the first
    poke after the target time (up to ``poke_interval`` later than a trigger would).
    ``end_from_trigger`` only says where a deferred task finishes and has nothing to change here.
    """

    def __init__(
        self,
        *,
        delta: timedelta,
        end_from_trigger: bool = False,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(delta=delta, mode=mode, **kwargs)
        self.end_from_trigger = end_from_trigger


class DateTimeSensorAsync(DateTimeSensor):
    """Airflow 2's deferring DateTimeSensor (``airflow.sensors.date_time``): a poking
    equivalent in ``mode="reschedule"``, as :class:`TimeDeltaSensorAsync`."""

    def __init__(
        self,
        *,
        target_time: str | datetime,
        end_from_trigger: bool = False,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(target_time=target_time, mode=mode, **kwargs)
        self.end_from_trigger = end_from_trigger


class TimeSensor(BaseSensorOperator):
    """Wait until ``target_time`` (a time of day in the DAG's timezone) today, as Airflow's
    TimeSensor: the target is fixed when the task is made (the day of parsing)."""

    def __init__(self, *, target_time: time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        zone = parse_timezone(self.dag.timezone) if self.dag is not None else parse_timezone("UTC")
        aware = datetime.combine(datetime.now(zone), target_time, zone)
        self.target_time = target_time
        target = convert_to_utc(aware)
        assert target is not None
        self.target_datetime = target

    def poke(self, context: Context) -> bool:
        return bool(utcnow() > self.target_datetime)


class TimeSensorAsync(TimeSensor):
    """Airflow 2's deferring TimeSensor (``airflow.sensors.time_sensor``): the same target
    (today at ``target_time`` in the DAG's timezone, fixed when the task is made), waited for
    by poking in ``mode="reschedule"``, as :class:`TimeDeltaSensorAsync`."""

    def __init__(
        self,
        *,
        target_time: time,
        end_from_trigger: bool = False,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(target_time=target_time, mode=mode, **kwargs)
        self.end_from_trigger = end_from_trigger
