"""``airflow.triggers.temporal`` / ``airflow.providers.standard.triggers.temporal``: triggers that
fire at a moment (Airflow's DateTimeTrigger and TimeDeltaTrigger)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from airlane.sdk import timezone
from airlane.sdk.triggers import BaseTrigger, TaskSuccessEvent, TriggerEvent

_CLASSPATH = "airflow.providers.standard.triggers.temporal.DateTimeTrigger"
#: longest single sleep: the wait re-reads the clock at least this often (clock changes)
_MAX_SLEEP_S = 60.0


class DateTimeTrigger(BaseTrigger):
    """Fires at ``moment`` (a tz-aware datetime), or at ``target_time`` (a datetime or an ISO
    string, parsed on first use)."""

    def __init__(
        self,
        moment: dt.datetime | None = None,
        *,
        target_time: dt.datetime | str | None = None,
        end_from_trigger: bool = False,
    ) -> None:
        super().__init__()
        if (moment is None) == (target_time is None):
            raise TypeError("DateTimeTrigger requires exactly one of 'moment' or 'target_time'")
        self.target_time = target_time
        self._moment: dt.datetime | None = None
        if moment is not None:
            if not isinstance(moment, dt.datetime):
                raise TypeError(f"Expected datetime.datetime type for moment. Got {type(moment)}")
            if moment.tzinfo is None:
                raise ValueError("You cannot pass naive datetimes")
            self._moment = timezone.convert_to_utc(moment)
        self.end_from_trigger = end_from_trigger

    @property
    def moment(self) -> dt.datetime:
        if self._moment is None:
            target: Any = self.target_time
            if isinstance(target, dt.datetime):
                target = target.isoformat()
            if not isinstance(target, str) or not target:
                raise TypeError("DateTimeTrigger has neither a 'moment' nor a usable 'target_time'")
            self._moment = timezone.convert_to_utc(timezone.parse(target))
        assert self._moment is not None
        return self._moment

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any]
        if self._moment is None:
            kwargs = {"target_time": self.target_time}
        else:
            kwargs = {"moment": self._moment}
        kwargs["end_from_trigger"] = self.end_from_trigger
        return (_CLASSPATH, kwargs)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Sleep until the moment (re-reading the clock at least every minute)."""
        while (left_s := (self.moment - timezone.utcnow()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left_s, _MAX_SLEEP_S))
        if self.end_from_trigger:
            self.log.info("Sensor time condition reached; marking task successful and exiting")
            yield TaskSuccessEvent()
        else:
            self.log.info("yielding event with payload %r", self.moment)
            yield TriggerEvent(self.moment)


class TimeDeltaTrigger(DateTimeTrigger):
    """Fires ``delta`` from now; serializes as the DateTimeTrigger it is."""

    def __init__(self, delta: dt.timedelta, *, end_from_trigger: bool = False) -> None:
        super().__init__(moment=timezone.utcnow() + delta, end_from_trigger=end_from_trigger)


__all__ = ["DateTimeTrigger", "TimeDeltaTrigger"]
