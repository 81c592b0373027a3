"""Sensors that wait for a moment: DateTimeSensor (and its deferring Async variant) and
TimeSensor, as Airflow 3.1.8's standard provider has them.

The deferring ones defer on a DateTimeTrigger without a first look at the clock (Airflow's): a
moment already past fires at once in the triggerer. ``start_from_trigger`` fills the class's
``start_trigger_args`` as Airflow does before 3.3 (a templated ``target_time`` cannot start
from the trigger: a warning, and the task defers from the worker instead). ``trigger_kwargs`` is
accepted as Airflow accepts it (its mapped operators' business; unused here too).
"""

from __future__ import annotations

import dataclasses
import warnings
from datetime import datetime, time
from typing import Any, ClassVar

from airlane.sdk.context import Context
from airlane.sdk.deferral import returns_only
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.timezone import convert_to_utc, parse, parse_timezone, utcnow
from airlane.sdk.triggers import StartTriggerArgs
from airlane.sdk.triggers.temporal import DateTimeTrigger

_DATE_TIME_TRIGGER = "airflow.providers.standard.triggers.temporal.DateTimeTrigger"


def _start_args() -> StartTriggerArgs:
    return StartTriggerArgs(
        trigger_cls=_DATE_TIME_TRIGGER,
        trigger_kwargs={"moment": "", "end_from_trigger": False},
        next_method="execute_complete",
        next_kwargs=None,
        timeout=None,
    )


class DateTimeSensor(BaseSensorOperator):
    """Wait until ``target_time`` (a datetime or an ISO string, templated)."""

    template_fields: ClassVar[tuple[str, ...]] = ("target_time",)

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_time = target_time

    @property
    def _moment(self) -> datetime:
        target: Any = self.target_time
        if isinstance(target, datetime):
            target = target.isoformat()
        if isinstance(target, str):
            return parse(target)
        raise TypeError(
            f"Expected str or datetime.datetime type for target_time. Got {type(target)}"
        )

    def poke(self, context: Context) -> bool:
        return bool(utcnow() > self._moment)


class DateTimeSensorAsync(DateTimeSensor):
    """Wait until ``target_time``, deferred (no worker slot held). ``mode`` defaults to
    ``reschedule`` as Airlane's poking stand-in of it did; a deferring sensor never pokes."""

    start_trigger_args: StartTriggerArgs | None = _start_args()
    start_from_trigger: bool = False

    def __init__(
        self,
        *,
        start_from_trigger: bool = False,
        end_from_trigger: bool = False,
        trigger_kwargs: dict[str, Any] | None = None,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(mode=mode, **kwargs)
        self.end_from_trigger = end_from_trigger
        self.start_from_trigger = start_from_trigger
        if not start_from_trigger:
            return
        target = self.target_time
        if isinstance(target, str) and any(d in target for d in ("{{", "{%", "{#")):
            warnings.warn(
                f"start_from_trigger=True with a templated target_time ({target!r}) requires "
                "Airflow >= 3.3. Disabling start_from_trigger, the task will defer from the "
                "worker instead.",
                UserWarning,
                stacklevel=2,
            )
            self.start_from_trigger = False
            return
        self.start_trigger_args = dataclasses.replace(
            _start_args(),
            trigger_kwargs={"moment": self._moment, "end_from_trigger": end_from_trigger},
        )

    async def aexecute(self, context: Context) -> Any:
        trigger = DateTimeTrigger(moment=self._moment, end_from_trigger=self.end_from_trigger)
        self.defer(trigger=trigger, method_name="execute_complete")

    @returns_only
    def execute_complete(self, context: Context, event: Any = None) -> None:
        """The trigger fired: done."""


class TimeSensor(BaseSensorOperator):
    """Wait until ``target_time`` (a time of day in the DAG's timezone) today, as Airflow's
    TimeSensor: the target is fixed when the task is made (the day of parsing)."""

    start_trigger_args: StartTriggerArgs | None = _start_args()
    start_from_trigger: bool = False

    def __init__(
        self,
        *,
        target_time: time,
        deferrable: bool = False,
        start_from_trigger: bool = False,
        end_from_trigger: bool = False,
        trigger_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        zone = parse_timezone(self.dag.timezone) if self.dag is not None else parse_timezone("UTC")
        aware = datetime.combine(datetime.now(zone), target_time, zone)
        self.target_time = target_time
        target = convert_to_utc(aware)
        assert target is not None
        self.target_datetime = target
        self.deferrable = deferrable
        self.start_from_trigger = start_from_trigger
        self.end_from_trigger = end_from_trigger
        if start_from_trigger:
            self.start_trigger_args = dataclasses.replace(
                _start_args(),
                trigger_kwargs={"moment": target, "end_from_trigger": end_from_trigger},
            )

    def poke(self, context: Context) -> bool:
        return bool(utcnow() > self.target_datetime)

    async def aexecute(self, context: Context) -> Any:
        if self.deferrable:
            trigger = DateTimeTrigger(
                moment=self.target_datetime, end_from_trigger=self.end_from_trigger
            )
            self.defer(trigger=trigger, method_name="execute_complete")
        return await super().aexecute(context)

    @returns_only
    def execute_complete(self, context: Context, event: Any = None) -> None:
        """The trigger fired: done."""


class TimeSensorAsync(TimeSensor):
    """Airflow's ``TimeSensor(deferrable=True)`` (deprecated in Airflow 3 but not in Airflow
    2, whose ``airflow.sensors.time_sensor`` this class serves too: no warning)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deferrable=True, **kwargs)


__all__ = ["DateTimeSensor", "DateTimeSensorAsync", "TimeSensor", "TimeSensorAsync"]
