"""``airflow.triggers.base``: triggers, the events they fire, and the arguments to start a task
from the triggerer.

A trigger is constructed in a task (``self.defer(trigger=...)``), serialized to its classpath and
keyword arguments (``serialize()``), stored in Redis with the deferred try, and rebuilt by the
triggerer (``airlane.service.triggerer``), which awaits ``run()`` among thousands of others on
one event loop. ``run()`` must not block the loop; the triggerer warns when one does.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from airlane.sdk.logging_mixin import LoggingMixin
from airlane.sdk.state import TaskInstanceState


@dataclass
class StartTriggerArgs:
    """Arguments to start a task's execution from the triggerer (Airflow's)."""

    trigger_cls: str
    next_method: str
    trigger_kwargs: dict[str, Any] | None = None
    next_kwargs: dict[str, Any] | None = None
    timeout: timedelta | None = None


class TriggerEvent:
    """What a trigger fires: a payload for the task it resumes."""

    def __init__(self, payload: Any = None, **kwargs: Any) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TriggerEvent) and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TriggerEvent<{self.payload!r}>"


class BaseTaskEndEvent(TriggerEvent):
    """An event that ends the task in the triggerer, without resuming it on a worker."""

    task_instance_state: TaskInstanceState = TaskInstanceState.SUCCESS

    def __init__(self, *, xcoms: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if "payload" in kwargs:
            raise ValueError("Param 'payload' not supported for this class.")
        state = kwargs.pop("task_instance_state", type(self).task_instance_state)
        super().__init__(payload=str(state))
        self.task_instance_state = TaskInstanceState(state)
        self.xcoms = xcoms


class TaskSuccessEvent(BaseTaskEndEvent):
    """Yield this event to end the task successfully."""

    task_instance_state = TaskInstanceState.SUCCESS


class TaskFailedEvent(BaseTaskEndEvent):
    """Yield this event to end the task with failure."""

    task_instance_state = TaskInstanceState.FAILED


class TaskSkippedEvent(BaseTaskEndEvent):
    """Yield this event to end the task skipped."""

    task_instance_state = TaskInstanceState.SKIPPED


class BaseTrigger(abc.ABC, LoggingMixin):
    """Airflow's trigger base: ``serialize()`` names the class and its arguments, ``run()``
    yields events, ``cleanup()`` runs when the trigger is no longer needed."""

    def __init__(self, **kwargs: Any) -> None:
        # set by the triggerer before run()
        self.task_instance: Any = None
        self.trigger_id: Any = None

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """(class path, keyword arguments that rebuild this trigger)."""
        raise NotImplementedError("Triggers must implement serialize()")

    @abc.abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield an event when the condition is met (the first one resumes the task)."""
        raise NotImplementedError("Triggers must implement run()")

    async def cleanup(self) -> None:
        """Called when the trigger is no longer needed (fired, cancelled or moved)."""

    @staticmethod
    def repr(classpath: str, kwargs: dict[str, Any]) -> str:
        kwargs_str = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        return f"<{classpath} {kwargs_str}>"

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        return self.repr(classpath, kwargs)


class BaseEventTrigger(BaseTrigger):
    """A trigger for event-driven scheduling (Airflow's asset watchers). The triggerer sets
    ``asset_state_store`` (Airflow 3.3) before ``run()``: the state store of the assets the
    trigger watches, reached with ``aget``/``aset`` (e.g. a stream's last offset)."""

    #: ``sdk.state_store.AssetStateStoreAccessors`` of the watched assets, set by the triggerer
    asset_state_store: Any = None


__all__ = [
    "BaseEventTrigger",
    "BaseTaskEndEvent",
    "BaseTrigger",
    "StartTriggerArgs",
    "TaskFailedEvent",
    "TaskSkippedEvent",
    "TaskSuccessEvent",
    "TriggerEvent",
]
