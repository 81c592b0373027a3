"""Calling a missed deadline's callback (Airflow 3.1's ``DeadlineCallbackTrigger``, 3.2's
``CallbackTrigger`` and executor callbacks): the callable the alert names, with the alert's
``kwargs`` and, when it takes a ``context`` (a parameter of that name, or ``**kwargs``),
Airflow's simple context: ``{"dag_run": the run as the REST API gives it, "deadline": {"id",
"deadline_time"}}``. An ``AsyncCallback``'s result is awaited (a coroutine function, or an
awaitable class such as a notifier) on an event loop of its own; a ``SyncCallback`` is called.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from airlane.sdk.deadline import AsyncCallback, Callback

_DEADLINE_NAMESPACE = uuid.UUID("3c7d2f0e-8a41-4f6b-9d2c-61b5e0a4f7d9")


def deadline_id(dag_id: str, run_id: str, alert_index: int) -> str:
    """A stable id of the run's deadline (Airflow's is its table row's UUID)."""
    return str(uuid.uuid5(_DEADLINE_NAMESPACE, f"{dag_id}|{run_id}|{alert_index}"))


def alert_id(dag_id: str, alert_index: int) -> str:
    """A stable id of the DAG's alert ``alert_index`` (Airflow's is its table row's UUID)."""
    return str(uuid.uuid5(_DEADLINE_NAMESPACE, f"{dag_id}|{alert_index}"))


def deadline_context(
    dag_run: dict[str, Any], dag_id: str, run_id: str, alert_index: int, deadline_s: float
) -> dict[str, Any]:
    return {
        "dag_run": dag_run,
        "deadline": {
            "id": deadline_id(dag_id, run_id, alert_index),
            "deadline_time": datetime.fromtimestamp(deadline_s, UTC),
        },
    }


def pick_alert(alerts: list[Any], index: int, path: str) -> Any:
    """The alert of the DAG file as loaded now that a deadline reported as ``index`` of its
    run's DAG version, calling ``path``: the one at ``index`` when it calls it, else the first
    that does (alerts moved); without a path, the one at ``index``; None when none fits."""
    at_index = alerts[index] if 0 <= index < len(alerts) else None
    if not path:
        return at_index
    if at_index is not None and at_index.callback.path == path:
        return at_index
    return next((a for a in alerts if a.callback.path == path), None)


def accepts_context(func: Callable[..., Any]) -> bool:
    """Whether ``func`` takes a ``context`` keyword (by name, or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "context" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def call_deadline_callback(callback: Callback, context: dict[str, Any]) -> Any:
    """Call the alert's callback; what it returned (awaited for an ``AsyncCallback``)."""
    func = callback.resolve()
    kwargs = dict(callback.kwargs)
    if accepts_context(func):
        kwargs["context"] = context
    result = func(**kwargs)
    if not isinstance(callback, AsyncCallback):
        return result
    if not inspect.isawaitable(result):
        raise TypeError(f"{callback.path} returned {type(result).__name__}, which can't be awaited")
    return asyncio.run(_awaited(result))


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
