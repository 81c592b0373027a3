"""DAG-level on_success_callback / on_failure_callback: when a run ends, the job that delivers
its callback is recorded in the same batch as the run's end (``callbacks:pending``), so a crash
between the two loses nothing; the callbacks role puts it on arq's queue and runs it."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from airlane.queue.callback_jobs import (
    RUN_GENERATION,
    CallbackKind,
    CallbackReason,
    DagCallbackJob,
    run_generation,
)
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.pending_callbacks import prune_pending
from airlane.sdk.state import DagRunState
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.callbacks")


def callback_job(ctx: RunContext, state: DagRunState, ended_at_s: float) -> DagCallbackJob | None:
    """The callback job of a run ending in ``state``, None when its DAG has no such callback.
    Its id is the run's, the kind's and the run's generation (stored with the run): the same
    end replayed after a restart gives the same job, a run reopened and ended again a new one."""
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
    generation = run_generation(ctx.fields.get(RUN_GENERATION))
    return DagCallbackJob(ctx.dag_id, ctx.run_id, kind, reason, ended_at_s, generation)


#: how often the coordinator prunes the jobs no callbacks role took (pending_callbacks.py)
PRUNE_INTERVAL_S = 600.0


class DagCallbacks(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session
        self._next_prune_s = 0.0

    async def periodic(self, now_s: float) -> None:
        if now_s < self._next_prune_s:
            return
        self._next_prune_s = now_s + PRUNE_INTERVAL_S
        s = self.session
        try:
            await prune_pending(s.client, s.keys, time.time())
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # housekeeping must never take the coordinator down
            log.exception("pruning the pending DAG callback jobs failed; trying again later")

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        job = callback_job(ctx, state, now_s)
        if job is None:
            return
        s = self.session
        s.outbox.batch.hset(s.keys.callbacks_pending, job.job_id, job.encode())
