"""``airflow.providers.standard.triggers.external_task``: WorkflowTrigger and DagStateTrigger, with
Airflow's arguments and serialized form.

Their ``run()`` reads other DAG runs' states through :data:`STATE_COUNTER`, an async function the
process that runs triggers installs (the triggerer reads Redis); without one, ``run()`` fails
with a clear error rather than waiting forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import datetime
from typing import Any

from airlane.sdk.triggers import BaseTrigger, TriggerEvent

#: (trigger's serialized kwargs, states) -> how many of its runs (or tasks' instances per run)
#: are in one of ``states``
StateCounter = Callable[[dict[str, Any], Collection[str] | None], Awaitable[int]]
STATE_COUNTER: list[StateCounter] = []


async def _count(kwargs: dict[str, Any], states: Collection[str] | None) -> int:
    if not STATE_COUNTER:
        raise RuntimeError("this process cannot read other DAG runs' states (no state counter)")
    return await STATE_COUNTER[-1](kwargs, states)


class WorkflowTrigger(BaseTrigger):
    """Waits for tasks, a task group or a DAG run of another DAG to reach a state."""

    def __init__(
        self,
        external_dag_id: str,
        run_ids: list[str] | None = None,
        execution_dates: list[datetime] | None = None,
        logical_dates: list[datetime] | None = None,
        external_task_ids: Collection[str] | None = None,
        external_task_group_id: str | None = None,
        failed_states: Collection[str] | None = None,
        skipped_states: Collection[str] | None = None,
        allowed_states: Collection[str] | None = None,
        poke_interval: float = 2.0,
        soft_fail: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_ids = external_task_ids
        self.external_task_group_id = external_task_group_id
        self.failed_states = failed_states
        self.skipped_states = skipped_states
        self.allowed_states = allowed_states
        self.run_ids = run_ids
        self.poke_interval = poke_interval
        self.soft_fail = soft_fail
        self.execution_dates = execution_dates
        self.logical_dates = logical_dates

    def serialize(self) -> tuple[str, dict[str, Any]]:
        data: dict[str, Any] = {
            "external_dag_id": self.external_dag_id,
            "external_task_ids": self.external_task_ids,
            "external_task_group_id": self.external_task_group_id,
            "failed_states": self.failed_states,
            "skipped_states": self.skipped_states,
            "allowed_states": self.allowed_states,
            "poke_interval": self.poke_interval,
            "soft_fail": self.soft_fail,
            "run_ids": self.run_ids,
            "logical_dates": self.logical_dates,
        }
        return "airflow.providers.standard.triggers.external_task.WorkflowTrigger", data

    async def run(self) -> AsyncIterator[TriggerEvent]:
        _, data = self.serialize()
        expected = len(self.run_ids or self.logical_dates or [])
        while True:
            if self.failed_states and await _count(data, self.failed_states) > 0:
                yield TriggerEvent({"status": "failed"})
                return
            if self.skipped_states and await _count(data, self.skipped_states) > 0:
                yield TriggerEvent({"status": "skipped"})
                return
            if await _count(data, self.allowed_states) == expected:
                yield TriggerEvent({"status": "success"})
                return
            await asyncio.sleep(self.poke_interval)


class DagStateTrigger(BaseTrigger):
    """Waits for runs of a DAG to reach one of ``states``."""

    def __init__(
        self,
        dag_id: str,
        states: list[Any],
        run_ids: list[str] | None = None,
        execution_dates: list[datetime] | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.states = states
        self.run_ids = run_ids
        self.execution_dates = execution_dates
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        data = {
            "dag_id": self.dag_id,
            "states": self.states,
            "poll_interval": self.poll_interval,
            "run_ids": self.run_ids,
            "execution_dates": self.execution_dates,
        }
        return "airflow.providers.standard.triggers.external_task.DagStateTrigger", data

    async def run(self) -> AsyncIterator[TriggerEvent]:
        cls_path, data = self.serialize()
        expected = len(self.run_ids or self.execution_dates or [])
        query = {
            "external_dag_id": self.dag_id,
            "run_ids": self.run_ids,
            "execution_dates": self.execution_dates,
        }
        states = [str(s) for s in self.states]
        while await _count(query, states) < expected:  # noqa: ASYNC110
            await asyncio.sleep(self.poll_interval)
        # Airflow 3: the event also maps each run id to its state (TriggerDagRunOperator's
        # execute_complete reads it)
        for run_id in self.run_ids or ():
            for state in states:
                if await _count({**query, "run_ids": [run_id]}, [state]):
                    data[run_id] = state
                    break
        yield TriggerEvent((cls_path, data))


__all__ = ["DagStateTrigger", "StateCounter", "WorkflowTrigger"]
