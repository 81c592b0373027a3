"""Airflow's max_consecutive_failed_dag_runs: a DAG whose last N runs failed is paused."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airlane.engine.dag_spec import DagSpec
from airlane.queue import typed
from airlane.queue.store import Store
from airlane.sdk.state import DagRunState
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")


def failure_limit(dag: Mapping[str, Any]) -> int:
    """How many failed runs in a row pause the DAG (0: never)."""
    return DagSpec.from_serialized(dag).max_consecutive_failed_dag_runs


class AutoPause(Policy):
    def __init__(self, session: Session, store: Store) -> None:
        self.session = session
        self.store = store

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        if state is DagRunState.FAILED and ctx.spec.max_consecutive_failed_dag_runs:
            self.session.state.failure_checks.add(ctx.dag_id)

    async def periodic(self, now_s: float) -> None:
        checks = self.session.state.failure_checks
        for dag_id in list(checks):
            checks.discard(dag_id)
            await self._check(dag_id)

    async def _check(self, dag_id: str) -> None:
        s = self.session
        loaded = await s.runs.current_graph(dag_id)
        limit = failure_limit(loaded[0] if loaded else {})
        if limit <= 0:
            return
        latest = await s.client.zrevrange(s.keys.runs_of(dag_id), 0, limit - 1)
        if len(latest) < limit:
            return
        states = [
            await typed.hget(s.client, s.keys.run(dag_id, str(run_id)), "state")
            for run_id in latest
        ]
        if all(state == "failed" for state in states):
            log.warning("DAG %s: its last %s runs failed; pausing it", dag_id, limit)
            await self.store.set_paused(dag_id, True)
            # (the event log's entry, as Airflow's scheduler writes it)
            extra = f"[('dag_id', '{dag_id}'), ('is_paused', True)]"
            entry = {"event": "paused", "owner": "scheduler", "dag_id": dag_id, "extra": extra}
            await self.store.append_event_log(entry)
