"""A try that defers and a try that resumes, on the worker's side (and in ``dags test``).

A try raising TaskDeferred ends ``deferred``; :func:`deferral_json` is what the worker's finish
script stores for the triggerer (the trigger's classpath and kwargs, its identity, the method to
resume in, the timeout). A resumed try gets :class:`Resume` (read by the claim script, written
when the trigger fired) and runs the method instead of ``execute``: the event's payload is its
``event`` argument, as in Airflow (``next_kwargs["event"] = event.payload``).

Ending where the trigger fired (:class:`EndsHere`): a try whose trigger ends the task (Airflow's
``end_from_trigger``: a TaskSuccessEvent...) ends without a worker, as in Airflow's triggerer,
when its task has no callback to run (nor outlets: a success emits their asset events); and a
try that would resume in a method that only returns None (``@returns_only``, the core time
sensors' ``execute_complete``) with nothing else of its task to run (hooks, callbacks, a map
index template) ends ``success`` the same way: running it on a worker would change nothing but
the time it takes (for 1,000 sensors through 16 slots, most of the run).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

from airlane.engine.run_state import TaskOutcome
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context
from airlane.sdk.deferral import RETURNS_ONLY_ATTR
from airlane.sdk.exceptions import TaskDeferred
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.triggers import serde
from airlane.service.execution.runtime_ti import RuntimeTaskInstance
from airlane.service.execution.trigger_kwargs import seal

#: the method of a try that its trigger ended without resuming it (a TaskSuccessEvent...):
#: kwargs {"state": ..., "xcoms": {...}}
END_FROM_TRIGGER = "__end__"


class EndsHere(IntEnum):
    """What of a deferred try may end where its trigger fired, without a worker."""

    #: nothing: every end resumes the try on a worker
    NOTHING = 0
    #: a trigger's end event (TaskSuccessEvent... without XComs): the task has no callback
    END_EVENTS = 1
    #: also a plain event: the try would resume in a method that only returns, nothing else
    #: of its task to run
    ANY_EVENT = 2


_CALLBACKS = (
    "on_success_callback",
    "on_failure_callback",
    "on_skipped_callback",
    "on_retry_callback",
)


#: resume_execution implementations that, for an event, only call the method
_PLAIN_RESUMES = (BaseOperator.resume_execution, BaseSensorOperator.resume_execution)


def ends_here(task: BaseOperator | None, method_name: str) -> EndsHere:
    """How much of ``task``'s deferral may end without a worker (see :class:`EndsHere`)."""
    if task is None or any(getattr(task, name, None) for name in _CALLBACKS):
        return EndsHere.NOTHING
    if getattr(task, "outlets", None):  # its success emits asset events: the worker's finish
        return EndsHere.NOTHING
    if _resume_only_returns(task, method_name):
        return EndsHere.ANY_EVENT
    return EndsHere.END_EVENTS


def _resume_only_returns(task: BaseOperator, method_name: str) -> bool:
    cls = type(task)
    method = getattr(cls, method_name, None)
    return (
        method is not None
        and getattr(method, RETURNS_ONLY_ATTR, False)
        and method_name not in vars(task)
        and cls.resume_execution in _PLAIN_RESUMES
        and cls.pre_execute is BaseOperator.pre_execute
        and cls.post_execute is BaseOperator.post_execute
        and getattr(task, "_pre_execute_hook", None) is None
        and getattr(task, "_post_execute_hook", None) is None
        and not getattr(task, "on_execute_callback", None)
        and not getattr(task, "map_index_template", None)
        and not getattr(task, "overwrite_rtif_after_execution", False)
    )


@dataclass(frozen=True, slots=True)
class Deferral:
    """What a deferred try leaves for the triggerer."""

    key: str
    classpath: str
    #: as stored (trigger_kwargs.seal: encrypted when a Fernet key is configured)
    kwargs_json: str
    method: str
    next_kwargs_json: str
    timeout_at_s: float | None
    ends_here: EndsHere = EndsHere.NOTHING

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "key": self.key,
                "c": self.classpath,
                "k": self.kwargs_json,
                "m": self.method,
                "n": self.next_kwargs_json,
                "timeout_at_s": self.timeout_at_s,
                "q": int(self.ends_here),
            }
        ).decode()


def deferral_of(err: TaskDeferred, now_s: float, task: BaseOperator | None = None) -> Deferral:
    """The trigger of ``err``, serialized (TypeError when its arguments cannot be); its kwargs
    encrypted when a Fernet key is configured (its key is of the plain kwargs: identical
    triggers are still one); what of it may end without a worker, from ``task``."""
    classpath, kwargs = err.trigger.serialize()
    kwargs_json = serde.dumps(kwargs)
    timeout_s = err.timeout.total_seconds() if err.timeout is not None else None
    return Deferral(
        key=serde.trigger_key(classpath, kwargs_json),
        classpath=classpath,
        kwargs_json=seal(kwargs_json),
        method=err.method_name,
        next_kwargs_json=serde.dumps(err.kwargs or {}),
        timeout_at_s=now_s + timeout_s if timeout_s is not None else None,
        ends_here=ends_here(task, err.method_name),
    )


@dataclass(frozen=True, slots=True)
class Resume:
    """How a resumed try continues: ``method(context, **kwargs)``."""

    method: str
    kwargs: dict[str, Any]

    @classmethod
    def from_json(cls, raw: str) -> Resume:
        data = orjson.loads(raw)
        kwargs = serde.loads(data["n"]) if data.get("n") else {}
        if data.get("e"):
            kwargs["event"] = serde.loads(data["e"])
        return cls(str(data.get("m") or ""), dict(kwargs))

    def end_state(self) -> TaskInstanceState | None:
        """The state a trigger's end event gave the task (None: the task resumes)."""
        if self.method != END_FROM_TRIGGER:
            return None
        return TaskInstanceState(self.kwargs.get("state", TaskInstanceState.SUCCESS))


def _call(task: BaseOperator, resume: Resume, context: Context) -> Any:
    task.pre_execute(context)
    result = task.resume_execution(resume.method, resume.kwargs, context)
    task.post_execute(context, result)
    return result


async def run_resumed(task: BaseOperator, resume: Resume, context: Context) -> Any:
    """Run the method the try resumes in between the pre- and post-execute hooks, as Airflow's
    task runner does (in a thread; awaited when the method is a coroutine function)."""
    method = getattr(task, resume.method, None)
    if method is not None and inspect.iscoroutinefunction(method):
        await asyncio.to_thread(task.pre_execute, context)
        result = await method(context, **resume.kwargs)
        await asyncio.to_thread(task.post_execute, context, result)
        return result
    return await asyncio.to_thread(_call, task, resume, context)


def ended_by_trigger(
    resume: Resume,
    ti: RuntimeTaskInstance,
    try_number: int,
    started_s: float,
    log: Callable[[str], None],
) -> TaskOutcome:
    """The trigger ended the task itself (TaskSuccessEvent...) and the try ends on a worker
    (XComs to push, or a callback to run): its XComs, its state."""
    state = resume.end_state() or TaskInstanceState.SUCCESS
    for key, value in (resume.kwargs.get("xcoms") or {}).items():
        ti.xcom_push(key, value)
    log(f"Trigger ended the task: {state.value}")
    error = None if state is TaskInstanceState.SUCCESS else f"ended {state.value} by its trigger"
    return TaskOutcome(
        state=state,
        try_number=try_number,
        retryable=False,
        error=error,
        started_at_s=started_s,
        xcom_lengths=tuple(sorted(ti.pushed_lengths.items())),
    )
