"""Read-only access to other DAGs' runs from a running task: ExternalTaskSensor's view.

Where the runs live depends on the process: a worker reads them from Redis, ``dags test`` only
knows the runs it drives itself. The running code installs its lookup with
:func:`use_run_state_lookup` (as :mod:`airlane.sdk.variable` does for variables); without one,
no run of any DAG can be seen and the lookup says so once in the task's log.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from airlane.sdk.context import current_log


@dataclass(frozen=True, slots=True)
class ExternalRun:
    """One run of another DAG: its state and, when asked for, its instances' states
    (``(task_id, map_index) -> state``; None for an instance with no state yet)."""

    run_id: str
    logical_date: datetime
    state: str
    task_states: dict[tuple[str, int], str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DagShape:
    """What a lookup knows of another DAG's definition: its task ids, and for each task group
    the ids of every task inside it (nested groups included)."""

    dag_id: str
    task_ids: frozenset[str]
    groups: dict[str, frozenset[str]]
    #: False once its file no longer defines it (Airflow: the DAG was deleted)
    active: bool = True


class RunStateLookup(Protocol):
    """Synchronous reads (called from a sensor's ``poke``, in a thread)."""

    def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        """The runs of ``dag_id`` whose logical date is one of ``logical_dates``."""
        ...

    def dag_shape(self, dag_id: str) -> DagShape | None:
        """``dag_id``'s tasks and groups; None when no such DAG is known."""
        ...


class AsyncRunStateLookup(Protocol):
    """The same reads for code on an event loop (a trigger's ``run()`` in the triggerer), plus
    runs named by id (Airflow's triggers may name runs instead of logical dates)."""

    async def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]: ...

    async def runs_named(
        self, dag_id: str, run_ids: Sequence[str], *, with_tasks: bool
    ) -> list[ExternalRun]: ...

    async def dag_shape(self, dag_id: str) -> DagShape | None: ...


class NoRunStateLookup:
    """The lookup of a process that can see no runs: every answer is empty, said once."""

    def __init__(self, why: str) -> None:
        self.why = why
        self._said = False

    def _say(self) -> None:
        if not self._said:
            self._said = True
            current_log()(f"No DAG run can be read here: {self.why}")

    def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        self._say()
        return []

    def dag_shape(self, dag_id: str) -> DagShape | None:
        self._say()
        return None


_lookup: contextvars.ContextVar[RunStateLookup | None] = contextvars.ContextVar(
    "airlane_run_state_lookup", default=None
)


def current_run_state_lookup() -> RunStateLookup:
    """The lookup installed for this task, or one that reads nothing (and says why)."""
    return _lookup.get() or NoRunStateLookup(
        "this process has no run state lookup (only workers and `dags test` install one)"
    )


@contextmanager
def use_run_state_lookup(lookup: RunStateLookup) -> Iterator[None]:
    token = _lookup.set(lookup)
    try:
        yield
    finally:
        _lookup.reset(token)


__all__ = [
    "AsyncRunStateLookup",
    "DagShape",
    "ExternalRun",
    "NoRunStateLookup",
    "RunStateLookup",
    "current_run_state_lookup",
    "use_run_state_lookup",
]
