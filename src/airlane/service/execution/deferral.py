"""A try that defers and a try that resumes, on the worker's side (and in ``dags test``).

A try raising TaskDeferred ends ``deferred``; :func:`deferral_json` is what the worker's finish
script stores for the triggerer (the trigger's classpath and kwargs, its identity, the method to
resume in, the timeout). A resumed try gets :class:`Resume` (read by the claim script, written
when the trigger fired) and runs the method instead of ``execute``: the event's payload is its
``event`` argument, as in Airflow (``next_kwargs["event"] = event.payload``).
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any

import orjson

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context
from airlane.sdk.exceptions import TaskDeferred
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.triggers import serde
from airlane.service.execution.trigger_kwargs import seal

#: the method of a try that its trigger ended without resuming it (a TaskSuccessEvent...):
#: kwargs {"state": ..., "xcoms": {...}}
END_FROM_TRIGGER = "__end__"


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

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "key": self.key,
                "c": self.classpath,
                "k": self.kwargs_json,
                "m": self.method,
                "n": self.next_kwargs_json,
                "timeout_at_s": self.timeout_at_s,
            }
        ).decode()


def deferral_of(err: TaskDeferred, now_s: float) -> Deferral:
    """The trigger of ``err``, serialized (TypeError when its arguments cannot be); its kwargs
    encrypted when a Fernet key is configured (its key is of the plain kwargs: identical
    triggers are still one)."""
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
