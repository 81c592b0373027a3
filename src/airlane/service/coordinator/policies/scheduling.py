"""The scheduler hook: the runs each DAG's timetable makes due, created on time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airlane.queue import typed
from airlane.queue.keys import parse_run_ref
from airlane.scheduling.scheduler import Scheduler
from airlane.sdk.state import DagRunState
from airlane.service.coordinator.admission import runs_going
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduling(Policy):
    def __init__(self, session: Session, scheduler: Scheduler) -> None:
        self.session = session
        self.scheduler = scheduler

    async def load(self) -> None:
        """Every active DAG's schedule, from its latest version."""
        s = self.session
        dags: dict[str, dict[str, Any]] = {}
        for dag_id, content_hash in (await typed.hgetall(s.client, s.keys.dags)).items():
            if await s.client.sismember(s.keys.inactive, dag_id):
                continue
            loaded = await s.runs.graph(content_hash)
            if loaded is not None:
                dags[dag_id] = loaded[0]
        await self.scheduler.load(dags, _utcnow())

    async def dag_updated(self, dag_id: str, content_hash: str) -> None:
        loaded = await self.session.runs.graph(content_hash)
        await self.scheduler.update(dag_id, loaded[0] if loaded else None, _utcnow())

    async def update_schedule(self, dag_id: str) -> None:
        loaded = await self.session.runs.current_graph(dag_id)
        await self.scheduler.update(dag_id, loaded[0] if loaded else None, _utcnow())

    def wake_s(self) -> float | None:
        return self.scheduler.next_due_s()

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        self.scheduler.unblock(ctx.dag_id)

    async def periodic(self, now_s: float) -> None:
        self.scheduler.unblock()

    async def after_read(self) -> None:
        due = self.scheduler.next_due_s()
        if due is None or due > time.time():
            return
        s = self.session
        # Runs that ended in this batch leave Redis's active set before new ones join it.
        await s.flush()
        registry = s.state.runs
        going = runs_going(registry.runs.values(), registry.queued_refs)
        for ref in await self.scheduler.create_due(_utcnow(), going):
            # Counted as queued until its run_created command activates it.
            registry.queued_refs.setdefault(parse_run_ref(ref)[0], set()).add(ref)
