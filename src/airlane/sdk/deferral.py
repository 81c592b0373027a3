"""Deferral on the task's side: ``BaseOperator.defer`` and how a resumed try re-enters the task
(Airflow's ``resume_execution``, including the ``__fail__`` method of a failed trigger)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from airlane.sdk.exceptions import TaskDeferralError, TaskDeferralTimeout, TaskDeferred

if TYPE_CHECKING:
    from airlane.sdk.baseoperator import BaseOperator
    from airlane.sdk.context import Context

#: the next method of a try whose trigger failed or timed out (Airflow's TRIGGER_FAIL_REPR)
TRIGGER_FAIL_REPR = "__fail__"
#: set on a resume method that only returns None (see :func:`returns_only`)
RETURNS_ONLY_ATTR = "_airlane_returns_only"

F = TypeVar("F", bound=Callable[..., Any])


def returns_only(method: F) -> F:
    """Mark a core resume method (``execute_complete``) whose whole body returns None: running
    it changes nothing, so a try resuming in it (with no hook or callback of its task to run)
    may end where its trigger fired instead of on a worker (service/execution/deferral.py)."""
    setattr(method, RETURNS_ONLY_ATTR, True)
    return method


class TriggerFailureReason(StrEnum):
    """Why a trigger failed (Airflow's values, the ``error`` of a ``__fail__`` resume)."""

    TRIGGER_TIMEOUT = "Trigger timeout"
    TRIGGER_FAILURE = "Trigger failure"


def defer(
    *,
    trigger: Any,
    method_name: str,
    kwargs: dict[str, Any] | None = None,
    timeout: timedelta | float | None = None,
) -> NoReturn:
    """Raise :class:`TaskDeferred`: the try ends ``deferred`` and resumes in ``method_name``."""
    raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)


def resume_execution(
    task: BaseOperator,
    next_method: str,
    next_kwargs: Mapping[str, Any] | None,
    context: Context,
) -> Any:
    """Run the method a resumed try continues in; ``__fail__`` raises the trigger's failure."""
    kwargs = dict(next_kwargs or {})
    if next_method == TRIGGER_FAIL_REPR:
        traceback = kwargs.get("traceback")
        if traceback is not None:
            task.log.error("Trigger failed:\n%s", "\n".join(traceback))
        error = kwargs.get("error", "Unknown")
        if error == TriggerFailureReason.TRIGGER_TIMEOUT:
            raise TaskDeferralTimeout(error)
        raise TaskDeferralError(error)
    return getattr(task, next_method)(context, **kwargs)


__all__ = ["RETURNS_ONLY_ATTR", "TRIGGER_FAIL_REPR", "TriggerFailureReason", "returns_only"]
