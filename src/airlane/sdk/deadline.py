"""Airflow 3.1's deadline alerts (``airflow.sdk.definitions.deadline``): a DAG's runs are
needed by a time (a reference plus an interval), and a run that has not succeeded by then has
its callback called.

``DAG(deadline=DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
interval=timedelta(minutes=30), callback=AsyncCallback(notify, kwargs={...})))``. The
coordinator works out each run's deadline when the run is created (``engine.deadlines``) and
calls the callback through the callbacks role when it passes (``service.callbacks``), with
the callback's ``kwargs`` and, where it takes one, a ``context`` of ``{"dag_run": the run as
the REST API gives it, "deadline": {"id", "deadline_time"}}`` (Airflow's simple context). A run
that succeeds first drops its deadlines; a failed one keeps them, as in Airflow.

References: a run's logical date or queue time, a fixed datetime, or the average duration of
the DAG's last runs (Airflow 3.2's ``AVERAGE_RUNTIME``). Airflow 3.2's custom references
(``@deadline_reference``, code evaluated by the scheduler) and ``VariableInterval`` are
refused when the DAG file loads: Airlane runs no user code in its coordinator.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, NoReturn

from airlane.sdk.exceptions import AirflowException
from airlane.sdk.module_loading import import_string

__all__ = [
    "AsyncCallback",
    "AverageRuntimeDeadline",
    "BaseDeadlineReference",
    "Callback",
    "DagRunLogicalDateDeadline",
    "DagRunQueuedAtDeadline",
    "DeadlineAlert",
    "DeadlineReference",
    "FixedDatetimeDeadline",
    "SyncCallback",
    "deadline_reference",
]

REFERENCE_TYPE_FIELD = "reference_type"


class Callback:
    """What a missed deadline calls: a callable (or its dotted path) and its keyword arguments."""

    path: str
    kwargs: dict[str, Any]

    def __init__(
        self, callback_callable: Callable[..., Any] | str, kwargs: dict[str, Any] | None = None
    ) -> None:
        if kwargs and "context" in kwargs:
            raise ValueError("context is a reserved kwarg for this class")
        self.kwargs = dict(kwargs or {})
        #: the callable itself when the DAG file passed one (a path is imported when called)
        self.callable: Callable[..., Any] | None = None
        if callable(callback_callable):
            self.verify_callable(callback_callable)
            self.callable = callback_callable
            name = getattr(callback_callable, "__qualname__", type(callback_callable).__name__)
            self.path = f"{callback_callable.__module__}.{name}"
            return
        if not isinstance(callback_callable, str) or not _is_dotted_path(callback_callable):
            raise ImportError(f"`{callback_callable}` doesn't look like a valid dot path.")
        self.path = callback_callable.strip()
        try:
            found = import_string(self.path)
        except ImportError:
            return  # (it may be importable where the callback runs only)
        if not callable(found):
            raise AttributeError(f"Provided callback {found} is not callable.")
        self.verify_callable(found)

    @classmethod
    def verify_callable(cls, callback: Callable[..., Any]) -> None:
        return None

    def resolve(self) -> Callable[..., Any]:
        """The callable to call (imported from its path when the DAG file gave a path)."""
        if self.callable is not None:
            return self.callable
        found = import_string(self.path)
        if not callable(found):
            raise AttributeError(f"Provided callback {found} is not callable.")
        return found  # type: ignore[no-any-return]

    def serialized_fields(self) -> tuple[str, ...]:
        return ("path", "kwargs")

    def serialize(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.serialized_fields()}

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, Callback)
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path, repr(sorted(self.kwargs.items()))))


class AsyncCallback(Callback):
    """A coroutine function or awaitable class (a notifier): Airflow runs it in its triggerer;
    Airlane in the callbacks role, on an event loop of its own."""

    @classmethod
    def verify_callable(cls, callback: Callable[..., Any]) -> None:
        if not (inspect.iscoroutinefunction(callback) or hasattr(callback, "__await__")):
            raise AttributeError(f"Provided callback {callback} is not awaitable.")


class SyncCallback(Callback):
    """A plain callable (Airflow 3.2: run by an executor; Airlane: by the callbacks role). A
    named ``executor`` is refused, as a task's is: Airlane has no other executor."""

    def __init__(
        self,
        callback_callable: Callable[..., Any] | str,
        kwargs: dict[str, Any] | None = None,
        executor: str | None = None,
    ) -> None:
        if executor:
            raise AirflowException(
                f"SyncCallback specifies executor '{executor}', which is not available: "
                "Airlane calls deadline callbacks in its callbacks role"
            )
        super().__init__(callback_callable, kwargs)
        self.executor = executor

    def serialized_fields(self) -> tuple[str, ...]:
        return ("path", "kwargs", "executor")


def _is_dotted_path(text: str) -> bool:
    parts = text.strip().split(".")
    return len(parts) > 1 and all(part.isidentifier() for part in parts)


class BaseDeadlineReference:
    """What a deadline counts from."""

    @property
    def reference_name(self) -> str:
        return type(self).__name__

    def serialize_reference(self) -> dict[str, Any]:
        return {REFERENCE_TYPE_FIELD: self.reference_name}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseDeadlineReference):
            return NotImplemented
        return self.serialize_reference() == other.serialize_reference()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.serialize_reference().items())))


class DagRunLogicalDateDeadline(BaseDeadlineReference):
    """A run's logical date (a run without one gets no deadline)."""


class DagRunQueuedAtDeadline(BaseDeadlineReference):
    """When a run was queued."""


@dataclass(eq=False)
class FixedDatetimeDeadline(BaseDeadlineReference):
    """A fixed datetime, the same for every run."""

    _datetime: datetime

    def serialize_reference(self) -> dict[str, Any]:
        return {REFERENCE_TYPE_FIELD: self.reference_name, "datetime": self._datetime.timestamp()}


@dataclass(eq=False)
class AverageRuntimeDeadline(BaseDeadlineReference):
    """When the run is created plus the average duration of the DAG's last ``max_runs``
    finished runs; no deadline while fewer than ``min_runs`` have finished."""

    DEFAULT_LIMIT: ClassVar[int] = 10
    max_runs: int
    min_runs: int | None = None

    def __post_init__(self) -> None:
        if self.min_runs is None:
            self.min_runs = self.max_runs
        if self.min_runs < 1:
            raise ValueError("min_runs must be at least 1")

    def serialize_reference(self) -> dict[str, Any]:
        return {
            REFERENCE_TYPE_FIELD: self.reference_name,
            "max_runs": self.max_runs,
            "min_runs": self.min_runs,
        }


#: the references the coordinator evaluates (by ``reference_type``)
KNOWN_REFERENCES: tuple[type[BaseDeadlineReference], ...] = (
    DagRunLogicalDateDeadline,
    DagRunQueuedAtDeadline,
    FixedDatetimeDeadline,
    AverageRuntimeDeadline,
)


class DeadlineReference:
    """The references a ``DeadlineAlert`` may count from."""

    class TYPES:
        DAGRUN_CREATED: tuple[type[BaseDeadlineReference], ...] = (
            DagRunLogicalDateDeadline,
            FixedDatetimeDeadline,
            AverageRuntimeDeadline,
        )
        DAGRUN_QUEUED: tuple[type[BaseDeadlineReference], ...] = (DagRunQueuedAtDeadline,)
        DAGRUN = DAGRUN_CREATED + DAGRUN_QUEUED

    DAGRUN_LOGICAL_DATE: ClassVar[BaseDeadlineReference] = DagRunLogicalDateDeadline()
    DAGRUN_QUEUED_AT: ClassVar[BaseDeadlineReference] = DagRunQueuedAtDeadline()

    @classmethod
    def FIXED_DATETIME(cls, dt: datetime) -> BaseDeadlineReference:
        return FixedDatetimeDeadline(dt)

    @classmethod
    def AVERAGE_RUNTIME(
        cls, max_runs: int = 0, min_runs: int | None = None
    ) -> BaseDeadlineReference:
        max_runs = max_runs or AverageRuntimeDeadline.DEFAULT_LIMIT
        return AverageRuntimeDeadline(max_runs, max_runs if min_runs is None else min_runs)

    @classmethod
    def register_custom_reference(cls, *_: Any, **__: Any) -> NoReturn:
        _refuse_custom()


def deadline_reference(*_: Any, **__: Any) -> NoReturn:
    """Airflow 3.2's custom references: refused (see the module's docstring)."""
    _refuse_custom()


def _refuse_custom() -> NoReturn:
    raise NotImplementedError(
        "custom deadline references are not supported by Airlane: its coordinator runs no "
        "DAG-file code; use DeadlineReference.DAGRUN_LOGICAL_DATE, DAGRUN_QUEUED_AT, "
        "FIXED_DATETIME(...) or AVERAGE_RUNTIME(...)"
    )


class DeadlineAlert:
    """A run must succeed by ``reference`` + ``interval``, or ``callback`` is called."""

    def __init__(
        self,
        reference: BaseDeadlineReference,
        interval: timedelta,
        callback: Callback,
        name: str | None = None,
    ) -> None:
        if type(reference) not in KNOWN_REFERENCES:
            _refuse_custom()
        if not isinstance(interval, timedelta):
            raise TypeError(
                f"DeadlineAlert interval must be a timedelta, not {type(interval).__name__} "
                "(Airlane does not support VariableInterval)"
            )
        if not isinstance(callback, AsyncCallback | SyncCallback):
            raise ValueError(
                f"Callbacks of type {type(callback).__name__} are not currently supported"
            )
        self.reference = reference
        self.interval = interval
        self.callback = callback
        self.name = name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeadlineAlert):
            return NotImplemented
        return (
            isinstance(self.reference, type(other.reference))
            and self.interval == other.interval
            and self.callback == other.callback
        )

    def __hash__(self) -> int:
        return hash((type(self.reference).__name__, self.interval, self.callback))

    def to_json(self) -> dict[str, Any]:
        """The alert as the serialized DAG carries it (the coordinator's part of it)."""
        return {
            "reference": self.reference.serialize_reference(),
            "interval_s": self.interval.total_seconds(),
            # (its kwargs stay in the DAG file, which the callbacks role loads to call it)
            "callback": {
                "kind": "async" if isinstance(self.callback, AsyncCallback) else "sync",
                "path": self.callback.path,
            },
            "name": self.name,
        }


def deadline_list(value: Any) -> list[DeadlineAlert]:
    """``DAG(deadline=...)``: one alert or a list of them."""
    if value is None:
        return []
    alerts = [value] if isinstance(value, DeadlineAlert) else list(value)
    for alert in alerts:
        if not isinstance(alert, DeadlineAlert):
            raise TypeError(f"deadline must be a DeadlineAlert or a list of them, not {alert!r}")
    return alerts
