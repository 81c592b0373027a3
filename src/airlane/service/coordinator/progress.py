"""Applying the state machine's steps: their writes, the slots they free, what they make
ready, and the end of a run."""

from __future__ import annotations

import time
from collections import deque
from itertools import repeat
from typing import TYPE_CHECKING

from airlane.engine.run_state import Step, TaskOutcome, TIKey, Transition
from airlane.queue.keys import deferred_field, ti_field
from airlane.queue.protocol import StopIdent
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator import deferrals
from airlane.service.coordinator.admission import (
    count_deferred,
    deferral_change,
    release_slots,
    take_slots,
)
from airlane.service.coordinator.settings import HELD_STATES
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

S = TaskInstanceState
#: states after which the instance's claim goes so that a worker claims the same try again
_CLAIM_KEPT = frozenset({S.UP_FOR_RESCHEDULE, S.DEFERRED})


def frees_slot(transition: Transition) -> bool:
    """Whether an instance leaves the queued or running states (and gives back its slots)."""
    record = transition.record
    return transition.old in HELD_STATES and (record is None or record.state not in HELD_STATES)


class Progress:
    def __init__(self, session: Session) -> None:
        self.session = session

    def after_step(self, ctx: RunContext, step: Step, now: float, may_end: bool = True) -> None:
        """Write ``step`` and act on it; the run ends here when it is over, unless
        ``may_end`` is False (a finished run rebuilt for the clear or mark that reopens it)."""
        s = self.session
        if step.to_stop:
            self._stop_cleared(ctx, step)
        s.outbox.persister.write_step(s.outbox.batch, ctx, step, now)
        for transition in step.transitions:
            self._after_transition(ctx, transition)
        if step.ready:
            s.state.admission.ready.extend(zip(repeat(ctx.ref), step.ready))  # (in C)
        s.hooks.after_step(ctx, step)
        state = ctx.machine.run_state()
        if may_end and state is not DagRunState.RUNNING and ctx.state is DagRunState.RUNNING:
            self.end_run(ctx, ctx.forced_end or state, now)

    def _stop_cleared(self, ctx: RunContext, step: Step) -> None:
        """Cleared while running: its worker stops it (its end, if any, is then stale)."""
        s = self.session
        for key in step.to_stop:
            running = s.state.recovery.running_on.get((ctx.ref, key))
            if running is not None:
                ident = StopIdent(
                    ctx.dag_id, ctx.run_id, key.task_id, key.map_index, running.try_number
                )
                s.outbox.batch.sadd(s.keys.worker_stop(running.worker_id), ident.encode())
                deferrals.forget_try(
                    s.outbox.batch,
                    s.keys,
                    ctx.dag_id,
                    ctx.run_id,
                    key.task_id,
                    key.map_index,
                    running.try_number,
                )

    def _after_transition(self, ctx: RunContext, transition: Transition) -> None:
        record = transition.record
        old = transition.old
        new = None if record is None else record.state
        if old is S.DEFERRED or new in _CLAIM_KEPT or transition.resuming_try is not None:
            self._after_deferral_or_poke(ctx, transition)
        elif old in HELD_STATES and new not in HELD_STATES:
            # (most transitions: no deferral, no reschedule; at most slots to give back)
            self._free_slots(ctx, transition.key)

    def _free_slots(self, ctx: RunContext, key: TIKey) -> None:
        """The instance left the queued or running states: its slots go back."""
        s = self.session
        s.recovery.forget((ctx.ref, key))
        release_slots(s.state.admission, ctx.ref, ctx.dag_id, ctx.graph.tasks[key.task_id])
        s.admission.recheck_all()

    def _after_deferral_or_poke(self, ctx: RunContext, transition: Transition) -> None:
        s = self.session
        key = transition.key
        record = transition.record
        if transition.old is S.DEFERRED and (record is None or record.state is not S.SCHEDULED):
            # Cleared, marked or stopped while deferred: its trigger no longer waits for it
            # (the triggerer drops a trigger left with no waiter).
            field = deferred_field(ctx.dag_id, ctx.run_id, key.task_id, key.map_index)
            s.outbox.batch.hdel(s.keys.deferred, field)
            s.outbox.batch.zrem(s.keys.trigger_timeouts, field)
        if transition.resuming_try is not None:  # (most transitions: nothing to do there)
            deferrals.after_transition(s.outbox.batch, s.keys, ctx.dag_id, ctx.run_id, transition)
        if record is not None and record.state in _CLAIM_KEPT:
            # The next poke (the resumed try) is the same try: let a worker claim it again.
            claims = s.keys.claims(ctx.dag_id, ctx.run_id)
            s.outbox.batch.hdel(claims, ti_field(key.task_id, key.map_index))
        if frees_slot(transition):
            self._free_slots(ctx, key)
        change = deferral_change(transition.old, None if record is None else record.state)
        if change:  # (its pool's deferred slots: see admission.pool_occupied)
            spec = ctx.graph.tasks[key.task_id]
            count_deferred(s.state.admission, spec, change)
            if change < 0 and spec.pool in s.state.admission.pools_holding_deferred:
                s.admission.recheck_all()  # it gave its pool slots back

    def end_run(self, ctx: RunContext, state: DagRunState, now: float) -> None:
        s = self.session
        s.hooks.run_ended(ctx, state, now)
        s.outbox.persister.write_run_state(s.outbox.batch, ctx, state, now)
        s.state.runs.run_ended(ctx.ref)
        s.state.admission.touched_dags.add(ctx.dag_id)
        s.state.runs.pending_starts.add(ctx.dag_id)

    def drain_ready(self) -> None:
        """EmptyOperator instances finish here; the rest wait for a slot of their DAG."""
        s = self.session
        admission = s.state.admission
        now = time.time()
        while admission.ready:
            item = admission.ready.popleft()
            ref, key = item
            ctx = s.state.runs.runs.get(ref)
            # (no default TIRecord built for the lookup: this runs per instance)
            record = None if ctx is None else ctx.machine.tis.get(key)
            if ctx is None or record is None or record.state is not S.SCHEDULED:
                continue
            spec = ctx.graph.tasks[key.task_id]
            if s.hooks.holds_back(item, spec):
                continue
            if spec.is_empty:
                self._finish_empty(ctx, key, now)
                continue
            line = admission.waiting.get(ctx.dag_id)
            if line is None:  # (not setdefault: it would build a deque per instance)
                line = admission.waiting[ctx.dag_id] = deque()
            line.append(item)
            admission.touched_dags.add(ctx.dag_id)

    def _finish_empty(self, ctx: RunContext, key: TIKey, now: float) -> None:
        """An EmptyOperator succeeds here, never queued: it holds its slots only for this
        step (its end, from running, gives them back). It starts and ends now, as Airflow's
        scheduler records one (duration 0)."""
        record = ctx.machine.tis[key]
        spec = ctx.graph.tasks[key.task_id]
        take_slots(self.session.state.admission, ctx.ref, ctx.dag_id, spec)
        ctx.machine.task_started(key, record.try_number)
        ctx.started_at[key] = (record.try_number, now)
        ctx.ended_at[key] = now
        outcome = TaskOutcome(S.SUCCESS, record.try_number)
        self.after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)
