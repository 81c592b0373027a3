"""``airflow.providers.standard.triggers.hitl``: the trigger a human-in-the-loop task defers on
(Airflow 3.1.8's HITLTrigger, its keyword arguments and events).

Airflow's trigger reads the task's HITL detail every ``poke_interval`` seconds. Airlane's is
told of each answer as it is written (:class:`~airlane.sdk.hitl_detail.HITLWatch`, a Redis
stream read by the triggerer), so it fires within milliseconds of the answer; it still reads
the detail every ``poke_interval`` in case a notice was lost. Past ``timeout_datetime`` it
fires with the answer if one came meanwhile, else with the ``defaults`` (recorded as the
try's response, first one wins), else with Airflow's timeout error.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, TypedDict

from airlane.sdk import timezone
from airlane.sdk.exceptions import ParamValidationError
from airlane.sdk.hitl_detail import (
    HITLDetail,
    HITLResponse,
    HITLWatch,
    current_hitl_watch,
    parse_hitl_ti_id,
    request_param,
)
from airlane.sdk.triggers import BaseTrigger, TriggerEvent

_CLASSPATH = "airflow.providers.standard.triggers.hitl.HITLTrigger"
TIMEOUT_ERROR = "The timeout has passed, and the response has not yet been received."


class HITLTriggerEventSuccessPayload(TypedDict, total=False):
    """The event of an answer (Airflow's)."""

    chosen_options: list[str]
    params_input: dict[str, Any]
    responded_by_user: dict[str, str] | None
    responded_at: dt.datetime
    timedout: bool


class HITLTriggerEventFailurePayload(TypedDict):
    """The event of a wait that failed (Airflow's)."""

    error: str
    error_type: Literal["timeout", "unknown", "validation"]


class HITLTrigger(BaseTrigger):
    """Fires when the try's question is answered, or its timeout passes."""

    def __init__(
        self,
        *,
        ti_id: str,
        options: Sequence[str],
        params: dict[str, Any],
        defaults: Sequence[str] | None = None,
        multiple: bool = False,
        timeout_datetime: dt.datetime | None,
        poke_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ti_id = ti_id
        self.ident, self.try_number = parse_hitl_ti_id(ti_id)
        self.options = list(options)
        self.params = dict(params)
        self.defaults = None if defaults is None else list(defaults)
        self.multiple = multiple
        self.timeout_datetime = timeout_datetime
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            _CLASSPATH,
            {
                "ti_id": self.ti_id,
                "options": self.options,
                "defaults": self.defaults,
                "params": self.params,
                "multiple": self.multiple,
                "timeout_datetime": self.timeout_datetime,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = current_hitl_watch()
        if watch is None:
            raise RuntimeError("HITLTrigger runs in the triggerer (no HITL details here)")
        with watch.watching(self.ident) as answered:
            told = said_waiting = False
            while True:
                answered.clear()  # before the read: an answer written after it sets it again
                if self._timed_out():
                    yield await self._handle_timeout(watch)
                    return
                event = self._event(await watch.read(self.ident))
                if event is not None:
                    how = "told by the answer's notice" if told else "read"
                    self.log.info("[HITL] answer %s", how)
                    yield event
                    return
                if not said_waiting:
                    self.log.info("[HITL] waiting for an answer of %s", self.ident)
                    said_waiting = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(answered.wait(), self._wait_s())
                told = answered.is_set()

    def _timed_out(self) -> bool:
        return self.timeout_datetime is not None and self.timeout_datetime < timezone.utcnow()

    def _wait_s(self) -> float:
        wait_s = max(float(self.poke_interval), 0.01)
        if self.timeout_datetime is not None:
            left_s = (self.timeout_datetime - timezone.utcnow()).total_seconds()
            wait_s = min(wait_s, max(left_s, 0.0) + 0.001)
        return wait_s

    def _response(self, detail: HITLDetail | None) -> HITLResponse | None:
        """This try's answer (None while there is none, or when a later try asked)."""
        if detail is None or detail.request.try_number != self.try_number:
            return None
        return detail.response

    def _event(self, detail: HITLDetail | None) -> TriggerEvent | None:
        response = self._response(detail)
        if response is None or not response.chosen_options:
            return None
        for key, value in response.params_input.items():
            if key in self.params:
                try:
                    request_param(self.params[key]).resolve(value)
                except ParamValidationError as err:
                    return TriggerEvent({"error": str(err), "error_type": "validation"})
        return self._success(response)

    def _success(self, response: HITLResponse) -> TriggerEvent:
        chosen = list(response.chosen_options)
        at = dt.datetime.fromtimestamp(response.responded_at_s, tz=dt.UTC)
        who = response.responded_by
        if who is None:
            self.log.info("[HITL] resuming with the timeout default %s recorded at %s", chosen, at)
        else:
            self.log.info(
                "[HITL] responded_by=%s (id=%s) options=%s at %s",
                who["name"],
                who["id"],
                chosen,
                at,
            )
        return TriggerEvent(
            {
                "chosen_options": chosen,
                "params_input": dict(response.params_input),
                "responded_at": at,
                "responded_by_user": who,
                "timedout": who is None,
            }
        )

    async def _handle_timeout(self, watch: HITLWatch) -> TriggerEvent:
        """Airflow's three cases: an answer came just before; no defaults (failure); the
        defaults recorded as the answer."""
        response = self._response(await watch.read(self.ident))
        if response is not None and response.chosen_options:
            return self._success(response)
        if self.defaults is None:
            return TriggerEvent({"error": TIMEOUT_ERROR, "error_type": "timeout"})
        defaults = HITLResponse(
            chosen_options=tuple(self.defaults),
            params_input={k: _value(v) for k, v in self.params.items()},
            responded_at_s=timezone.utcnow().timestamp(),
            try_number=self.try_number,
        )
        kept = await watch.respond(self.ident, defaults)
        if kept.timed_out:
            self.log.info(
                "[HITL] timeout reached before receiving response, fallback to default %s",
                self.defaults,
            )
        return self._success(kept)


def _value(entry: Any) -> Any:
    """A serialized param's value (a bare value stands for itself)."""
    if isinstance(entry, dict) and "schema" in entry and "value" in entry:
        return entry["value"]
    return entry


__all__ = ["HITLTrigger", "HITLTriggerEventFailurePayload", "HITLTriggerEventSuccessPayload"]
