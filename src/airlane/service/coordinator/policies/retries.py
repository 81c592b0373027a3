"""Retries and reschedules: an up_for_retry or up_for_reschedule instance becomes due at the
time its step names (the retry delay, or the sensor's poke interval); the loop wakes then and
the state machine's ``tick`` schedules it again."""

from __future__ import annotations

import heapq
import time
from typing import TYPE_CHECKING

from airlane.engine.run_state import Step
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session


class Retries(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.due = session.state.due

    def after_step(self, ctx: RunContext, step: Step) -> None:
        if step.next_due_s is not None:
            heapq.heappush(self.due, (step.next_due_s, ctx.ref))

    def wake_s(self) -> float | None:
        return self.due[0][0] if self.due else None

    async def after_read(self) -> None:
        self.tick_due(time.time())

    def tick_due(self, now: float) -> None:
        runs = self.session.state.runs.runs
        while self.due and self.due[0][0] <= now:
            _, ref = heapq.heappop(self.due)
            ctx = runs.get(ref)
            if ctx is not None:
                self.session.progress.after_step(ctx, ctx.machine.tick(now), now)
