"""DAG-level on_success_callback / on_failure_callback: when a run ends, the job that delivers
its callback is recorded in the same batch as the run's end (``callbacks:pending``), so a crash
between the two loses nothing; the callbacks role puts it on arq's queue and runs it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from airlane.queue.callback_jobs import CallbackKind, CallbackReason, DagCallbackJob
from airlane.sdk.state import DagRunState
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session


def callback_job(ctx: RunContext, state: DagRunState, ended_at_s: float) -> DagCallbackJob | None:
    """The callback job of a run ending in ``state``, None when its DAG has no such callback."""
    spec = ctx.spec
    if ctx.marked_whole:
        return None  # Airflow's PATCH of a run calls no DAG callback
    if state is DagRunState.SUCCESS and spec.has_on_success_callback:
        kind, reason = CallbackKind.SUCCESS, CallbackReason.SUCCESS
    elif state is DagRunState.FAILED and spec.has_on_failure_callback:
        kind = CallbackKind.FAILURE
        reason = CallbackReason.TIMED_OUT if ctx.timed_out else CallbackReason.TASK_FAILURE
    else:
        return None
    return DagCallbackJob(ctx.dag_id, ctx.run_id, kind, reason, ended_at_s)


class DagCallbacks(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session

    def run_ended(self, ctx: RunContext, state: DagRunState) -> None:
        job = callback_job(ctx, state, time.time())
        if job is None:
            return
        s = self.session
        s.outbox.batch.hset(s.keys.callbacks_pending, job.job_id, job.encode())
