"""The task context: what ``execute(context)``, templates and callables receive.

While a task runs, its context, its log function and a line buffer for what it prints are
held in context variables: asyncio copies them into the threads that run blocking callables,
so concurrent tasks in one worker each write to their own log.
"""

from __future__ import annotations

import contextvars
import io
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from airlane.sdk.exceptions import AirflowException


class Context(dict[str, Any]):
    """A dict of ``ti``, ``dag_run``, ``logical_date``, ``ds``, ``params``... (Airflow's keys)."""


class LineBuffer:
    """Turns writes into whole lines for a task's log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.partial = ""

    def write(self, text: str) -> None:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.log(line)

    def close(self) -> None:
        if self.partial:
            self.log(self.partial)
            self.partial = ""


_current: contextvars.ContextVar[Context] = contextvars.ContextVar("airlane_context")
_log: contextvars.ContextVar[Callable[[str], None]] = contextvars.ContextVar(
    "airlane_task_log", default=print
)
_capture: contextvars.ContextVar[LineBuffer | None] = contextvars.ContextVar(
    "airlane_capture", default=None
)


class ClosingLines(Protocol):
    """Where a process running a try keeps its closing lines (``log_closing``)."""

    def hold(self, line: str) -> None:
        """Keep ``line`` to go with the try's end, or before anything logged after it."""

    def release(self) -> None:
        """Send what is kept now (user code runs next)."""


_closing: contextvars.ContextVar[ClosingLines | None] = contextvars.ContextVar(
    "airlane_closing", default=None
)
_reentry = threading.local()


class _TaskAwareStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` replacement: inside a task, writes go to the task's log."""

    def __init__(self, original: TextIO) -> None:
        self._original = original

    def write(self, text: str) -> int:
        buffer = _capture.get()
        if buffer is None or getattr(_reentry, "active", False):
            return self._original.write(text)
        _reentry.active = True
        try:
            buffer.write(text)
        finally:
            _reentry.active = False
        return len(text)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def capture_task_output() -> None:
    """Install the task-aware streams (idempotent; re-wraps a stream someone replaced)."""
    if not isinstance(sys.stdout, _TaskAwareStream):
        sys.stdout = _TaskAwareStream(sys.stdout)
    if not isinstance(sys.stderr, _TaskAwareStream):
        sys.stderr = _TaskAwareStream(sys.stderr)


class use_context:  # a context manager under the name callers know (a class: no generator)
    """Make ``context`` current for the running task (copied into threads it starts via asyncio)."""

    def __init__(
        self, context: Context, log: Callable[[str], None], closing: ClosingLines | None = None
    ) -> None:
        self._context, self._log, self._closing = context, log, closing

    def __enter__(self) -> None:
        self._buffer = LineBuffer(self._log)
        self._tokens = (
            _current.set(self._context),
            _log.set(self._log),
            _capture.set(self._buffer),
            _closing.set(self._closing),
        )

    def __exit__(self, *exc: object) -> None:
        self._buffer.close()
        _current.reset(self._tokens[0])
        _log.reset(self._tokens[1])
        _capture.reset(self._tokens[2])
        _closing.reset(self._tokens[3])


def get_current_context() -> Context:
    """The context of the task running now; raises outside a task."""
    try:
        return _current.get()
    except LookupError:
        raise AirflowException(
            "Current context was requested but no context was found! Are you running within a task?"
        ) from None


def context_merge(context: Context, *args: Any, **kwargs: Any) -> None:
    """Update ``context`` with the mappings and keywords given (Airflow's ``context_merge``)."""
    context.update(*args, **kwargs)


def current_task_or_none() -> Any:
    """The running task's operator (its context's ``task``), None outside a task."""
    context = _current.get(None)
    return None if context is None else context.get("task")


def in_task() -> bool:
    """Whether the calling code runs inside a task (its thread or a thread it started)."""
    return _capture.get() is not None


def current_log() -> Callable[[str], None]:
    """Write one line to the running task's log."""
    return _log.get()


def log_closing(line: str) -> None:
    """Write a line that closes the try's own work (its callable's result) to its log. A task
    process sends it with the try's end, not in a message of its own (one wake-up of its
    worker less per try), unless something is logged or user code runs after it
    (``release_closing``): then it goes first, as any line."""
    closing = _closing.get()
    if closing is None:
        _log.get()(line)
    else:
        closing.hold(line)


def release_closing() -> None:
    """Send the running try's closing lines now: user code (a callback, a hook) runs next, and
    may end the process before the try's end is sent."""
    closing = _closing.get()
    if closing is not None:
        closing.release()
