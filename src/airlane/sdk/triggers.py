"""``airflow.triggers.base``: the classes provider modules define their triggers with.

Provider modules import these at load (the http provider's operators import its ``HttpTrigger``
module), so they must exist for the operators to import. Airlane has no triggerer yet: a trigger
is only constructed, never run, and an operator's deferrable mode stays unavailable.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from airlane.sdk.logging_mixin import LoggingMixin


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


class BaseTrigger(abc.ABC, LoggingMixin):
    """Airflow's trigger base: ``serialize()`` names the class and its arguments, ``run()``
    yields events."""

    def __init__(self, **kwargs: Any) -> None:
        self.task_instance: Any = None
        self.trigger_id: Any = None

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError("Triggers must implement serialize()")

    @abc.abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        raise NotImplementedError("Triggers must implement run()")

    async def cleanup(self) -> None:
        """Called when the trigger is no longer needed."""

    @staticmethod
    def repr(classpath: str, kwargs: dict[str, Any]) -> str:
        kwargs_str = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        return f"<{classpath} {kwargs_str}>"

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        return self.repr(classpath, kwargs)


class BaseEventTrigger(BaseTrigger):
    """A trigger for event-driven scheduling (Airflow's asset watchers)."""


__all__ = ["BaseEventTrigger", "BaseTrigger", "StartTriggerArgs", "TriggerEvent"]
