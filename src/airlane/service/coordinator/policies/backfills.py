"""Backfills: each takes its next dates while it has room, about once a second or when a
backfill changes; the existing runs it reprocesses are cleared through the same entry point
as an API clear."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airlane.queue.keys import run_ref
from airlane.scheduling.backfill import BackfillRunner
from airlane.service.coordinator.hooks import Policy

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session


class Backfills(Policy):
    def __init__(self, session: Session, runner: BackfillRunner) -> None:
        self.session = session
        self.runner = runner

    def wake(self) -> None:
        """A backfill changed: advance the backfills after this read."""
        self.session.state.advance_backfills = True

    async def periodic(self, now_s: float) -> None:
        self.wake()

    async def after_read(self) -> None:
        state = self.session.state
        if state.advance_backfills:
            state.advance_backfills = False
            await self.advance()

    async def advance(self) -> None:
        registry = self.session.state.runs
        unfinished = {ctx.ref for ctx in registry.runs.values()}
        for refs in registry.queued_refs.values():
            unfinished |= refs
        for item in await self.runner.advance(unfinished):
            await self.session.events.clear(run_ref(item.dag_id, item.run_id), item.task_ids)
