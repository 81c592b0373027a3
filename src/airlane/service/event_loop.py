"""The event loop Airlane's services run on: uvloop where it is installed, else asyncio's.

uvloop (libuv under asyncio's API, by the authors of asyncpg) runs the same coroutines with
less CPU per callback, timer and socket read: in the 10,000-task fan-out a worker spent 17 %
less CPU per try on it than on asyncio's loop (docs/benchmarks.md). Every service (worker,
coordinator, DAG processor, triggerer, API server) runs on it by default;
``AIRLANE_EVENT_LOOP=asyncio`` keeps asyncio's own loop, and a process where uvloop is not
installed (the callbacks role's virtualenv, another platform) falls back to it. Task processes
keep asyncio's loop: user code runs there, and their loop only hosts one try at a time.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping
from enum import StrEnum

#: the environment variable that chooses the loop
ENV = "AIRLANE_EVENT_LOOP"


class LoopKind(StrEnum):
    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


def kind_from_env(env: Mapping[str, str]) -> LoopKind:
    """The loop ``AIRLANE_EVENT_LOOP`` asks for (uvloop when unset); a ValueError naming the
    variable when unknown."""
    value = env.get(ENV, LoopKind.UVLOOP.value).strip().lower()
    try:
        return LoopKind(value)
    except ValueError:
        choices = ", ".join(k.value for k in LoopKind)
        raise ValueError(f"{ENV}={value!r}: expected one of {choices}") from None


def loop_factory(kind: LoopKind) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the loop (None: asyncio's own), uvloop's only where it imports."""
    if kind is not LoopKind.UVLOOP:
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
