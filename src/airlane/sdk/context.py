"""The task context: what ``execute(context)``, templates and callables receive."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from airlane.sdk.exceptions import AirflowException


class Context(dict[str, Any]):
    """A dict of ``ti``, ``dag_run``, ``logical_date``, ``ds``, ``params``... (Airflow's keys)."""


_current: contextvars.ContextVar[Context] = contextvars.ContextVar("airlane_context")
_log: contextvars.ContextVar[Callable[[str], None]] = contextvars.ContextVar(
    "airlane_task_log", default=print
)


@contextmanager
def use_context(context: Context, log: Callable[[str], None]) -> Iterator[None]:
    """Make ``context`` current for the running task (copied into threads it starts via asyncio)."""
    token = _current.set(context)
    log_token = _log.set(log)
    try:
        yield
    finally:
        _current.reset(token)
        _log.reset(log_token)


def get_current_context() -> Context:
    """The context of the task running now; raises outside a task."""
    try:
        return _current.get()
    except LookupError:
        raise AirflowException(
            "Current context was requested but no context was found! Are you running within a task?"
        ) from None


def current_log() -> Callable[[str], None]:
    """Write one line to the running task's log."""
    return _log.get()
