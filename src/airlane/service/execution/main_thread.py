"""Sync task code on the calling (main) thread of a task process, as Airflow runs it.

A task process runs one try at a time and nothing else waits on its event loop while a sync
``execute`` runs, so the hand-off to a thread (a thread wake-up and an event loop turn per try)
buys nothing there. The loop is set aside for the call: task code sees no running loop, so it
may call ``asyncio.run`` and the sync stores (XComs, Variables, connections) as in a thread.
``execution_timeout`` is a SIGALRM timer whose handler raises in the task's code (Airflow's
``timeout``): a ``BaseException``, so an ``except Exception`` in the task does not swallow it.
The worker still kills the process if the code does not stop (C code that never returns to
the interpreter).
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")


class _Alarm(BaseException):
    """Raised in the task's code by the SIGALRM handler."""


class _Timer:
    """SIGALRM after ``timeout_s``; ``fired`` stays set even if the task's code caught it."""

    def __init__(self) -> None:
        self.fired = False
        #: set only while the task's code runs: an alarm outside it (after the call, while the
        #: event loop is being put back) interrupts nothing
        self.armed = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self.armed:
            return
        self.fired = True
        self.armed = False
        raise _Alarm

    def _guarded(self, func: Callable[..., T], *args: Any) -> T:
        self.armed = True
        try:
            return func(*args)
        finally:
            self.armed = False

    def call(self, timeout_s: float, func: Callable[..., T], *args: Any) -> T | None:
        previous = signal.signal(signal.SIGALRM, self._on_alarm)
        started_s = time.monotonic()
        outer_s = 0.0  # a timer set before (not in a task process: a test's, say)
        try:
            outer_s = signal.setitimer(signal.ITIMER_REAL, timeout_s)[0]
            try:
                found: T = _without_loop(self._guarded, func, *args)
                return found
            except _Alarm:
                return None
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Alarm:  # it went off after the call, before the timer was stopped
            return None
        finally:
            # (None: a handler not installed from Python; the default is the closest)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            if outer_s > 0:
                left_s = outer_s - (time.monotonic() - started_s)
                signal.setitimer(signal.ITIMER_REAL, max(left_s, 0.001))


def _without_loop(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a copy of the current context with no running event loop."""
    loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        return contextvars.copy_context().run(func, *args)
    finally:
        asyncio.events._set_running_loop(loop)
        if loop is not None:
            asyncio.set_event_loop(loop)  # a nested asyncio.run() unset it


def call_with_alarm(timeout_s: float | None, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` on this thread; TimeoutError once ``timeout_s`` has passed (also when
    the task's code caught the alarm and carried on)."""
    if timeout_s is None:
        return _without_loop(func, *args)
    if timeout_s <= 0:
        raise TimeoutError("execution_timeout already passed")
    timer = _Timer()
    try:
        result = timer.call(timeout_s, func, *args)
    except Exception:
        if not timer.fired:
            raise
        result = None  # the task's code turned the alarm into an error of its own
    if timer.fired:
        raise TimeoutError(f"execution_timeout of {timeout_s:g}s exceeded")
    return result  # type: ignore[return-value]  # not fired: func returned it
