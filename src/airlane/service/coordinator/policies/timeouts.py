"""Run timeouts (Airflow's dagrun_timeout): a run still going past its deadline fails, and
its unfinished instances are skipped. Task execution timeouts are the worker's."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from airlane.queue.events_protocol import RunTimeoutEvent
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator.hooks import Policy
from airlane.service.coordinator.settings import HELD_STATES
from airlane.service.run_context import RunContext
from airlane.service.stored_records import epoch_s

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

S = TaskInstanceState
#: instances in these states are left as they are when their run times out
_FINISHED = frozenset({S.SUCCESS, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED, S.REMOVED})


def deadline_s(ctx: RunContext, resumed: bool, now_s: float) -> float | None:
    """When the run times out: its start (now, unless it is resumed) plus dagrun_timeout."""
    timeout_s = ctx.spec.dagrun_timeout_s
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
            self._time_out(ctx, now_s)

    def _time_out(self, ctx: RunContext, now_s: float) -> None:
        """As Airflow: the unfinished instances are skipped (their slots given back, their
        workers told to stop) and the run fails."""
        s = self.session
        unfinished = [k for k, r in ctx.machine.tis.items() if r.state not in _FINISHED]
        held = tuple(k for k in unfinished if ctx.machine.tis[k].state in HELD_STATES)
        step = ctx.machine.mark_many([(key, S.SKIPPED) for key in unfinished], now_s)
        s.progress.after_step(ctx, replace(step, to_stop=held), now_s, may_end=False)
        s.outbox.persister.event(s.outbox.batch, RunTimeoutEvent(ctx.dag_id, ctx.run_id))
        ctx.timed_out = True
        s.progress.end_run(ctx, DagRunState.FAILED, now_s)
