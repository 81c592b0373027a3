"""Runs triggered for later: a run created with a ``run_after`` still to come stays queued
until then, as Airflow 3's scheduler starts no run before its ``run_after`` (a manual run
whose trigger names one, TriggerDagRunOperator's ``run_after``).

The loader keeps such a run aside when it reads it (RunLoader._held); this policy wakes the
loop at the earliest of their times and activates those that are due, which then start as any
queued run does (a paused DAG or a full ``max_active_runs`` keeps them queued). A restarted
coordinator reads them again with the other active runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from airlane.service.coordinator.hooks import Policy

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session


class RunAfter(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session

    def wake_s(self) -> float | None:
        held = self.session.state.runs.held_until
        return min(held.values()) if held else None

    async def after_read(self) -> None:
        held = self.session.state.runs.held_until
        if not held:
            return
        now_s = time.time()
        for ref in sorted(ref for ref, after_s in held.items() if after_s <= now_s):
            del held[ref]
            await self.session.runs.activate(ref)
