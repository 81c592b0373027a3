"""Run timeouts (Airflow's dagrun_timeout): a run still going past its deadline fails, and
its unfinished instances are skipped. Task execution timeouts are the worker's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airlane.queue.events_protocol import RunTimeoutEvent
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext
from airlane.service.stored_records import epoch_s

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

S = TaskInstanceState
#: instances in these states are left as they are when their run times out
_FINISHED = frozenset({S.SUCCESS, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED, S.REMOVED})


def deadline_s(ctx: RunContext, resumed: bool, now_s: float) -> float | None:
    """When the run times out: its start (now, unless it is resumed) plus dagrun_timeout."""
    timeout_s = ctx.dag.get("dagrun_timeout_s")
    if not timeout_s:
        return None
    started_s = epoch_s(ctx.fields.get("start_date"), now_s) if resumed else now_s
    return float(started_s + timeout_s)


class Timeouts(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session

    def run_activated(self, ctx: RunContext, resumed: bool, now_s: float) -> None:
        deadline = deadline_s(ctx, resumed, now_s)
        if deadline is not None:
            ctx.deadline_s = deadline

    async def periodic(self, now_s: float) -> None:
        s = self.session
        for ctx in list(s.state.runs.runs.values()):
            if ctx.deadline_s is None or now_s < ctx.deadline_s:
                continue
            persister, batch = s.outbox.persister, s.outbox.batch
            for key, record in list(ctx.machine.tis.items()):
                if record.state not in _FINISHED:
                    step = ctx.machine.mark(key, S.SKIPPED, now_s)
                    persister.write_step(batch, ctx, step, now_s)
            persister.event(batch, RunTimeoutEvent(ctx.dag_id, ctx.run_id))
            s.progress.end_run(ctx, DagRunState.FAILED, now_s)
