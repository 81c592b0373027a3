"""BaseSensorOperator: poke until true, in poke or reschedule mode, with a timeout."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from datetime import timedelta
from typing import Any, ClassVar

from pendulum import DateTime

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    TaskDeferralError,
    TaskDeferralTimeout,
)
from airlane.sdk.timezone import utcnow

SENSOR_MODES = ("poke", "reschedule")


class PokeReturnValue:
    """What ``poke`` may return to finish with an XCom value."""

    def __init__(self, is_done: bool, xcom_value: Any = None) -> None:
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self) -> bool:
        return self.is_done


class BaseSensorOperator(BaseOperator):
    """Subclasses implement ``poke(context)`` (plain or ``async def``) returning truthy when done.

    ``mode="poke"`` waits between pokes on the event loop, holding the task's slot;
    ``mode="reschedule"`` gives the slot back and is scheduled again after ``poke_interval``.
    Past ``timeout`` seconds from the first poke the sensor fails without retry, or is skipped
    with ``soft_fail``.

    ``deferrable`` is not an argument of this base (as in Airflow, whose base sensor refuses it):
    the sensors that can defer declare it themselves and defer in ``aexecute``; when such a
    sensor resumes, a trigger timeout fails it as a sensor timeout, and ``soft_fail`` or
    ``never_fail`` turn a failure at resumption into a skip (:meth:`resume_execution`).
    """

    ui_color = "#e6f1f2"
    task_kind: ClassVar[str] = "sensor"

    def __init__(
        self,
        *,
        poke_interval: timedelta | float = 60,
        timeout: timedelta | float = 60 * 60 * 24 * 7,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: timedelta | float | None = None,
        silent_fail: bool = False,
        never_fail: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poke_interval_s = _seconds(poke_interval)
        self.timeout_s = _seconds(timeout)
        if self.poke_interval_s < 0 or self.timeout_s < 0:
            raise AirflowException("poke_interval and timeout must be non-negative")
        if mode not in SENSOR_MODES:
            raise AirflowException(f"mode must be one of {SENSOR_MODES}; got {mode!r}")
        if soft_fail and never_fail:
            raise ValueError(
                "soft_fail and never_fail are mutually exclusive, you can not provide both."
            )
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        self.max_wait_s = _seconds(max_wait) if max_wait is not None else None
        self.silent_fail = silent_fail
        self.never_fail = never_fail

    @property
    def poke_interval(self) -> float:
        return self.poke_interval_s

    @property
    def timeout(self) -> float:
        return self.timeout_s

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context: Context) -> bool | PokeReturnValue:
        raise NotImplementedError(f"{type(self).__name__} must implement poke()")

    async def _poke_once(self, context: Context) -> bool | PokeReturnValue:
        if inspect.iscoroutinefunction(self.poke):
            result: bool | PokeReturnValue = await self.poke(context)
            return result
        return await asyncio.to_thread(self.poke, context)

    def next_interval_s(self, poke_count: int) -> float:
        if not self.exponential_backoff:
            return self.poke_interval_s
        interval = self.poke_interval_s * float(2 ** max(poke_count - 1, 0))
        return min(interval, self.max_wait_s) if self.max_wait_s else interval

    async def aexecute(self, context: Context) -> Any:
        ti = context["ti"]
        started: DateTime = ti.sensor_started_at or utcnow()
        log = current_log()
        poke_count = ti.poke_count
        while True:
            poke_count += 1
            # (Airflow 3.3's branches: a timeout or AirflowFailException skips with soft_fail
            # or never_fail; another error is logged and counts as not done with silent_fail,
            # skips with never_fail, else fails the try)
            try:
                result = await self._poke_once(context)
            except (AirflowSensorTimeout, AirflowTaskTimeout, AirflowFailException) as err:
                if self.soft_fail:
                    raise AirflowSkipException("Skipping due to soft_fail is set to True.") from err
                if self.never_fail:
                    raise AirflowSkipException(
                        "Skipping due to never_fail is set to True."
                    ) from err
                raise
            except (AirflowSkipException, AirflowRescheduleException):
                raise
            except Exception as err:
                if self.silent_fail:
                    log(f"Sensor poke failed: \n {traceback.format_exc()}")
                    result = False
                elif self.never_fail:
                    raise AirflowSkipException(
                        "Skipping due to never_fail is set to True."
                    ) from err
                else:
                    raise
            if result:
                return result.xcom_value if isinstance(result, PokeReturnValue) else None
            elapsed_s = (utcnow() - started).total_seconds()
            if elapsed_s > self.timeout_s:
                message = (
                    f"Sensor has timed out; run duration of {elapsed_s:.1f} seconds exceeds "
                    f"the specified timeout of {self.timeout_s}."
                )
                if self.soft_fail:  # (never_fail does not skip a timeout, as in Airflow)
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            interval_s = self.next_interval_s(poke_count)
            if self.reschedule:
                raise AirflowRescheduleException(utcnow() + timedelta(seconds=interval_s))
            log(f"Poking again in {interval_s} seconds")
            await asyncio.sleep(interval_s)

    def execute(self, context: Context) -> Any:
        return asyncio.run(self.aexecute(context))

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context
    ) -> Any:
        """Airflow 3's sensor resumption: a trigger timeout is a sensor timeout, and a failure
        is a skip with ``soft_fail`` or ``never_fail``."""
        try:
            try:
                return super().resume_execution(next_method, next_kwargs, context)
            except TaskDeferralTimeout as err:
                raise AirflowSensorTimeout(*err.args) from err
        except (AirflowException, TaskDeferralError) as err:
            if self.soft_fail:
                raise AirflowSkipException("Skipping due to soft_fail is set to True.") from err
            if self.never_fail:
                raise AirflowSkipException("Skipping due to never_fail is set to True.") from err
            raise


def _seconds(value: timedelta | float) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
