"""``dags test``: a deferred try's trigger run in this process, as Airflow 3's ``dag.test()``
runs triggers inline; the try then resumes like one a triggerer resumed (the trigger rebuilt
from its classpath and kwargs, so ``serialize()`` is exercised as in production)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import orjson

from airlane.engine.run_state import TaskOutcome
from airlane.queue.scripts import Fire
from airlane.sdk.module_loading import import_string
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.triggers import serde
from airlane.service.execution.trigger_kwargs import unseal
from airlane.service.triggerer.decisions import (
    fire_for_event,
    fire_for_failure,
    resume_json,
    timeout_fire,
)


async def run_inline(deferral_json: str) -> str:
    """Run the trigger of a deferred try to its first event; the try's resume JSON."""
    deferral = orjson.loads(deferral_json)
    key = deferral["key"]
    timeout_at_s = deferral.get("timeout_at_s")
    timeout_s = None if timeout_at_s is None else max(0.0, timeout_at_s - time.time())
    try:
        cls = await asyncio.to_thread(import_string, deferral["c"])
        trigger = cls(**serde.loads(unseal(deferral["k"])))
    except Exception as err:
        fire = fire_for_failure(key, err)
    else:
        fire = await _first_event(key, trigger, timeout_s)
    return resume_json(fire, deferral["m"], deferral["n"])


async def _first_event(key: str, trigger: object, timeout_s: float | None) -> Fire:
    events = trigger.run()  # type: ignore[attr-defined]
    try:
        async with asyncio.timeout(timeout_s) as deadline:
            async for event in events:
                return fire_for_event(key, event)
        return fire_for_failure(key, None)
    except TimeoutError as err:
        return timeout_fire(key) if deadline.expired() else fire_for_failure(key, err)
    except Exception as err:
        return fire_for_failure(key, err)
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()
        with contextlib.suppress(Exception):
            await trigger.cleanup()  # type: ignore[attr-defined]


async def run_resuming(
    run_try: Callable[[str], Awaitable[TaskOutcome]], log: Callable[[str], None]
) -> TaskOutcome:
    """One try to its end, its triggers run inline (``tasks test``, as Airflow 3's):
    ``run_try(resume_json)`` runs it ("" to start)."""
    outcome = await run_try("")
    while outcome.state is TaskInstanceState.DEFERRED and outcome.deferral is not None:
        log("[DAG TEST] running trigger in line")
        resume = await run_inline(outcome.deferral)
        log("[DAG TEST] Trigger completed")
        outcome = await run_try(resume)
    return outcome
