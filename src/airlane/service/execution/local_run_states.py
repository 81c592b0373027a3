"""Other DAGs' runs in ``dags test``: only the runs this process drives can be seen (the DAG
under test and those its TriggerDagRunOperators ran here); the first look at a DAG with none of
them says so in the task's log, and the sensor waits as Airflow's would on a missing run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from airlane.dag_loader.serialize import serialize_dag
from airlane.sdk.context import current_log
from airlane.sdk.dag import DAG
from airlane.sdk.run_states import DagShape, ExternalRun
from airlane.service.execution.redis_run_states import dag_shape_of

_ATTEMPTS = 5


class _Run(Protocol):
    """What is read of a LocalRun (local_runner.py)."""

    dag: DAG
    run_info: Any
    machine: Any


class LocalRunStates:
    """:class:`airlane.sdk.run_states.RunStateLookup` over the runs of this process."""

    def __init__(self, lookup: Callable[[str], DAG | None]) -> None:
        self.lookup = lookup
        self.runs: list[_Run] = []
        self._told: set[str] = set()

    def add(self, run: _Run) -> None:
        self.runs.append(run)

    def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        wanted = {d.timestamp() for d in logical_dates}
        mine = [r for r in list(self.runs) if r.dag.dag_id == dag_id]
        found = [
            _snapshot(r, with_tasks)
            for r in mine
            if r.run_info.logical_date is not None and r.run_info.logical_date.timestamp() in wanted
        ]
        if not mine and dag_id not in self._told:
            self._told.add(dag_id)
            current_log()(
                f"No run of {dag_id!r} here (yet): dags test sees only the runs it drives, the "
                "DAG's own and those its TriggerDagRunOperators start; a run it does not see "
                "is waited for as one that does not exist"
            )
        return found

    def dag_shape(self, dag_id: str) -> DagShape | None:
        dag = self.lookup(dag_id)
        return None if dag is None else dag_shape_of(serialize_dag(dag))


class LocalAsyncRunStates:
    """The same runs for triggers run inline (:class:`airlane.sdk.run_states.AsyncRunStateLookup`:
    the external-task triggers read them through it)."""

    def __init__(self, states: LocalRunStates) -> None:
        self.states = states

    async def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        return self.states.runs_at(dag_id, logical_dates, with_tasks=with_tasks)

    async def runs_named(
        self, dag_id: str, run_ids: Sequence[str], *, with_tasks: bool
    ) -> list[ExternalRun]:
        wanted = set(run_ids)
        mine = [r for r in list(self.states.runs) if r.dag.dag_id == dag_id]
        return [_snapshot(r, with_tasks) for r in mine if r.run_info.run_id in wanted]

    async def dag_shape(self, dag_id: str) -> DagShape | None:
        # the lookup may import a DAG file: not on the loop
        return await asyncio.to_thread(self.states.dag_shape, dag_id)


def _snapshot(run: _Run, with_tasks: bool) -> ExternalRun:
    """The run as it is now; its instances are read from the event loop's thread's dict while
    it may change, so a read that races a change is tried again."""
    for _ in range(_ATTEMPTS):
        try:
            items = list(run.machine.tis.items()) if with_tasks else []
            break
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    else:
        items = []
    task_states: dict[tuple[str, int], str | None] = {
        (key.task_id, key.map_index): (None if rec.state.value == "none" else rec.state.value)
        for key, rec in items
    }
    info = run.run_info
    return ExternalRun(info.run_id, info.logical_date, run.machine.run_state().value, task_states)
