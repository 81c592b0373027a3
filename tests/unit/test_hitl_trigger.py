"""Airflow's HITLTrigger on Airlane: its kwargs, firing on an answer's notice (no polling), the
timeout's three cases, and a trigger of an earlier try that never fires for a later one."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import time
from typing import Any

import pytest

from airlane.dag_loader import airflow_compat
from airlane.sdk.hitl_detail import (
    HITL_WATCH,
    HITLIdent,
    HITLRequest,
    HITLResponse,
    hitl_ti_id,
    parse_hitl_ti_id,
)
from airlane.sdk.triggers import TriggerEvent
from airlane.sdk.triggers.hitl import TIMEOUT_ERROR, HITLTrigger
from tests.unit.test_hitl_operators import MemoryStore, MemoryWatch

IDENT = HITLIdent("d", "run|1", "ask", 2)
PARAMS = {"n": {"value": 1, "description": None, "schema": {"type": "integer"}}}


def _asked(
    store: MemoryStore, try_number: int = 1, defaults: tuple[str, ...] | None = None
) -> None:
    request = HITLRequest(
        ("a", "b"), "?", try_number, time.time(), defaults=defaults, params=PARAMS
    )
    store.ask(IDENT, request)


def _trigger(**kwargs: Any) -> HITLTrigger:
    args: dict[str, Any] = {
        "ti_id": hitl_ti_id(IDENT, 1),
        "options": ["a", "b"],
        "params": PARAMS,
        "timeout_datetime": None,
    }
    return HITLTrigger(**(args | kwargs))


async def _first(trigger: HITLTrigger, watch: MemoryWatch) -> TriggerEvent:
    HITL_WATCH.append(watch)
    try:
        return await anext(aiter(trigger.run()))
    finally:
        HITL_WATCH.remove(watch)


def test_the_trigger_takes_airflows_kwargs_through_the_shim() -> None:
    airflow_compat.install()
    module = importlib.import_module("airflow.providers.standard.triggers.hitl")
    assert module.HITLTrigger is HITLTrigger
    classpath, kwargs = _trigger(defaults=["a"]).serialize()
    assert classpath == "airflow.providers.standard.triggers.hitl.HITLTrigger"
    assert set(kwargs) == {
        "ti_id",
        "options",
        "defaults",
        "params",
        "multiple",
        "timeout_datetime",
        "poke_interval",
    }
    assert kwargs["poke_interval"] == 5.0
    assert parse_hitl_ti_id(kwargs["ti_id"]) == (IDENT, 1)
    with pytest.raises(ValueError, match="not the id"):
        parse_hitl_ti_id("nonsense")


def test_an_answer_fires_the_trigger_at_once_without_polling() -> None:
    store = MemoryStore()
    _asked(store)
    watch = MemoryWatch(store)

    async def scenario() -> TriggerEvent:
        waiting = asyncio.create_task(_first(_trigger(poke_interval=3600.0), watch))
        await watch.registered.wait()
        answer = HITLResponse(("b",), {"n": 3}, time.time(), 1, {"id": "u", "name": "U"})
        store.respond(IDENT, answer)
        watch.notify(IDENT)
        # an hour's poke interval: only the notice can end the wait in time
        return await asyncio.wait_for(waiting, 5)

    payload = asyncio.run(scenario()).payload
    assert payload["chosen_options"] == ["b"]
    assert payload["params_input"] == {"n": 3}
    assert payload["responded_by_user"] == {"id": "u", "name": "U"}
    assert payload["timedout"] is False
    assert isinstance(payload["responded_at"], dt.datetime)


def test_past_its_timeout_the_trigger_takes_the_defaults_or_fails_or_keeps_an_answer() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    store = MemoryStore()
    _asked(store, defaults=("a",))
    watch = MemoryWatch(store)
    taken = asyncio.run(_first(_trigger(defaults=["a"], timeout_datetime=past), watch)).payload
    assert (taken["chosen_options"], taken["timedout"], taken["responded_by_user"]) == (
        ["a"],
        True,
        None,
    )
    assert taken["params_input"] == {"n": 1}
    kept = store.read(IDENT)
    assert kept is not None
    assert kept.response is not None
    assert kept.response.timed_out

    _asked(store)
    failed = asyncio.run(_first(_trigger(timeout_datetime=past), watch)).payload
    assert failed == {"error": TIMEOUT_ERROR, "error_type": "timeout"}

    _asked(store)
    store.respond(IDENT, HITLResponse(("b",), {}, time.time(), 1, {"id": "u", "name": "U"}))
    answered = asyncio.run(_first(_trigger(defaults=["a"], timeout_datetime=past), watch))
    assert answered.payload["chosen_options"] == ["b"]


def test_an_answer_failing_its_params_schema_fails_as_airflows_validation_error() -> None:
    store = MemoryStore()
    _asked(store)
    store.respond(IDENT, HITLResponse(("a",), {"n": "x"}, time.time(), 1, {"id": "u", "name": "U"}))
    payload = asyncio.run(_first(_trigger(), MemoryWatch(store))).payload
    assert payload["error_type"] == "validation"


def test_the_trigger_of_an_earlier_try_does_not_fire_on_a_later_trys_answer() -> None:
    store = MemoryStore()
    _asked(store, try_number=2)
    store.respond(IDENT, HITLResponse(("a",), {}, time.time(), 2, {"id": "u", "name": "U"}))
    watch = MemoryWatch(store)

    async def scenario() -> bool:
        waiting = asyncio.create_task(_first(_trigger(poke_interval=3600.0), watch))
        await watch.registered.wait()
        watch.notify(IDENT)
        for _ in range(20):  # it reads again on the notice, and goes on waiting
            await asyncio.sleep(0)
        done = waiting.done()
        waiting.cancel()
        return done

    assert asyncio.run(scenario()) is False
