"""Sensors that wait for a time: TimeDeltaSensor here, DateTimeSensor and TimeSensor in
:mod:`.date_time` (re-exported: this module serves all of Airflow's time sensor paths).

With ``deferrable=True`` they defer on a :class:`~airlane.sdk.triggers.temporal.DateTimeTrigger`
as Airflow 3.1.8's standard provider does (a wait that holds no worker slot and ends at the
moment itself, not at the next poke); without it they poke.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, ClassVar

from airlane.sdk.context import Context
from airlane.sdk.deferral import returns_only
from airlane.sdk.exceptions import AirflowSkipException
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.sensors.date_time import (
    DateTimeSensor,
    DateTimeSensorAsync,
    TimeSensor,
    TimeSensorAsync,
)
from airlane.sdk.timezone import utcnow
from airlane.sdk.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger


class TimeDeltaSensor(BaseSensorOperator):
    """Wait until ``delta`` (a timedelta, or an int of minutes) after the run's data interval
    end (its ``run_after`` when it has none)."""

    template_fields: ClassVar[tuple[str, ...]] = ("delta",)

    def __init__(
        self,
        *,
        delta: timedelta | int,
        deferrable: bool = False,
        end_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.delta = delta
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger

    def _resolve_delta(self) -> timedelta:
        if isinstance(self.delta, timedelta):
            return self.delta
        return timedelta(minutes=int(self.delta))

    def target(self, context: Context) -> datetime:
        """The moment the sensor waits for."""
        base = context.get("data_interval_end")
        if base is None:
            dag_run = context.get("dag_run")
            base = getattr(dag_run, "run_after", None)
            if base is None:
                raise ValueError("`dag_run` not found in task context")
        if not isinstance(base, datetime):
            raise ValueError("`data_interval_end` returned non-datetime object")
        return base + self._resolve_delta()

    def poke(self, context: Context) -> bool:
        return bool(utcnow() > self.target(context))

    async def aexecute(self, context: Context) -> Any:
        if not self.deferrable:
            return await super().aexecute(context)
        target = self.target(context)
        if utcnow() <= target:
            self.defer(
                trigger=self._trigger(target),
                method_name="execute_complete",
                timeout=self.timeout_s,
            )
        return True  # Airflow's: the moment had passed already

    def _trigger(self, target: datetime) -> DateTimeTrigger:
        """The trigger to defer on; a moment it refuses skips the task under ``soft_fail``."""
        try:
            return DateTimeTrigger(moment=target, end_from_trigger=self.end_from_trigger)
        except (TypeError, ValueError) as err:
            if self.soft_fail:
                raise AirflowSkipException("Skipping due to soft_fail is set to True.") from err
            raise

    @returns_only
    def execute_complete(self, context: Context, event: Any = None) -> None:
        """The trigger fired: done."""


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """Airflow's deprecated deferring TimeDeltaSensor (Airflow 2's ``airflow.sensors.time_delta``
    and the standard provider's): ``TimeDeltaSensor(deferrable=True)``.

    ``mode`` defaults to ``reschedule`` as Airlane's poking stand-in of it did; a deferring
    sensor never pokes, so the mode changes nothing. No deprecation warning: the class serves
    Airflow 2's path too, where it is not deprecated.
    """

    def __init__(
        self,
        *,
        delta: timedelta | int,
        end_from_trigger: bool = False,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            delta=delta, deferrable=True, end_from_trigger=end_from_trigger, mode=mode, **kwargs
        )


class WaitSensor(BaseSensorOperator):
    """Wait ``time_to_wait`` (a timedelta, or an int of minutes) from the task's start: with
    ``deferrable=True`` on a TimeDeltaTrigger that ends the task itself (Airflow 3.1.8's
    ``end_from_trigger=True``), otherwise asleep on the worker's event loop."""

    template_fields: ClassVar[tuple[str, ...]] = ("time_to_wait",)

    def __init__(
        self, *, time_to_wait: timedelta | int, deferrable: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.time_to_wait = time_to_wait

    def _resolve_time_to_wait(self) -> timedelta:
        if isinstance(self.time_to_wait, timedelta):
            return self.time_to_wait
        return timedelta(minutes=int(self.time_to_wait))

    async def aexecute(self, context: Context) -> Any:
        wait = self._resolve_time_to_wait()
        if self.deferrable:
            self.defer(
                trigger=TimeDeltaTrigger(wait, end_from_trigger=True),
                method_name="execute_complete",
            )
        await asyncio.sleep(int(wait.total_seconds()))  # Airflow's: whole seconds


__all__ = [
    "DateTimeSensor",
    "DateTimeSensorAsync",
    "TimeDeltaSensor",
    "TimeDeltaSensorAsync",
    "TimeSensor",
    "TimeSensorAsync",
    "WaitSensor",
]
