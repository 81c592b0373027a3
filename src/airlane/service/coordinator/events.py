"""What the coordinator reads: completions from workers and commands from everyone else."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, assert_never

from airlane.engine.run_state import Step, TIKey, TIRecord, run_mark
from airlane.queue import hitl
from airlane.queue.codec import TIMeta
from airlane.queue.keys import parse_run_ref
from airlane.queue.protocol import (
    BackfillChanged,
    ClearTasks,
    Command,
    Completion,
    DagPaused,
    DagUnpaused,
    DagUpdated,
    MarkTasks,
    PoolsChanged,
    RunCreated,
    StopIdent,
    Tick,
    TryFinished,
    TryReleased,
    TryResumed,
    TryStarted,
    WakeTask,
)
from airlane.sdk.hitl_detail import HITLIdent
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator import deferrals
from airlane.service.coordinator.state import TryRef
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")


def tries_ending(events: Sequence[Completion | Command | None]) -> set[TryRef]:
    """(run, instance, try) of every try whose end is among ``events``."""
    return {
        (event.run, event.ti, event.try_number)
        for event in events
        if isinstance(event, TryFinished)
    }


def _is_current(record: TIRecord | None, try_number: int) -> bool:
    """Whether ``try_number`` is the try the record of its instance counts."""
    return record is not None and record.try_number == try_number


def record_start(ctx: RunContext, key: TIKey, event: TryStarted) -> None:
    """When and where a try started (its claim: the start until its outcome says when it began
    to execute), kept beside its record (its queue time stays). A try resumed from deferral
    keeps the start of its first run, as Airflow's ``ti_run`` keeps a resuming task's."""
    meta = ctx.meta.get(key)
    record = ctx.machine.tis.get(key)
    start = event.at_s
    if meta is not None and meta.start_date is not None and _is_resumed(record, event.try_number):
        start = meta.start_date
    ctx.meta[key] = TIMeta(meta.queued_at if meta else None, start, None, event.worker)


def _is_resumed(record: TIRecord | None, try_number: int) -> bool:
    """Whether ``try_number`` is its instance's current try, resumed from deferral."""
    return record is not None and record.try_number == try_number and record.resumed


class Events:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- completions ----------------------------------------------------------------------

    def on_completion(self, event: Completion, ending: set[TryRef]) -> None:
        s = self.session
        ctx = s.state.runs.runs.get(event.run)
        if ctx is None or event.task_id not in ctx.graph.tasks:
            if ctx is not None:
                log.error("skipping a completion for unknown task %s of %s", event.ti, event.run)
            elif isinstance(event, TryStarted):
                # A run this coordinator does not drive has ended (it loads every active run
                # before it reads a completion): the try was queued before that end was
                # written, perhaps by a coordinator before a restart. Stopped like any other.
                self._stop_try(event)
            self._forget_deferral(event, None)
            return
        key = TIKey(event.task_id, event.map_index)
        now = time.time()
        match event:
            case TryStarted():
                self._on_started(ctx, key, event, ending)
            case TryFinished(outcome=outcome):
                if outcome.ended_at_s is not None:
                    ctx.ended_at[key] = outcome.ended_at_s
                self._keep_execution_start(ctx, key, event)
                s.progress.after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)
                if event.fast:
                    s.fast_path.taken(ctx, event)
                if outcome.state is TaskInstanceState.DEFERRED:  # (none to forget otherwise)
                    self._forget_deferral(event, ctx.machine.tis.get(key))
                s.assets.finished(ctx, key, event)
            case TryReleased():
                if _is_current(ctx.machine.tis.get(key), event.try_number):
                    # (only then: a stale try's release must not free the claim of the
                    # instance's next try, which may be running already)
                    s.outbox.batch.hdel(s.keys.claims(ctx.dag_id, ctx.run_id), event.ti)
                step = ctx.machine.task_released(key, event.try_number, now)
                s.progress.after_step(ctx, step, now)
            case TryResumed(end=end) if end:
                # ended where its trigger fired: nothing to queue; its end date is now, not
                # when it deferred (what its deferral's finish left here)
                ctx.ended_at.pop(key, None)
                state = TaskInstanceState(end)
                step = ctx.machine.task_ended_by_trigger(key, event.try_number, state, now)
                s.progress.after_step(ctx, step, now)
            case TryResumed():
                step = ctx.machine.task_resumed(key, event.try_number, now)
                s.progress.after_step(ctx, step, now)
                self._forget_deferral(event, ctx.machine.tis.get(key))
            case _:
                assert_never(event)

    @staticmethod
    def _keep_execution_start(ctx: RunContext, key: TIKey, event: TryFinished) -> None:
        """When the current try began to execute in its task process, which becomes its start
        date with the transition its end makes (Airflow's start_date is when its task runner
        starts; the claim before it may have waited for a process). Not for a try resumed from
        deferral: it keeps its first run's start."""
        started_s = event.outcome.started_at_s
        record = ctx.machine.tis.get(key)
        if started_s is None or not _is_current(record, event.try_number):
            return
        if not _is_resumed(record, event.try_number):
            ctx.started_at[key] = (event.try_number, started_s)

    def _forget_deferral(self, event: Completion, record: TIRecord | None) -> None:
        """The deferral entries a stale completion leaves (see deferrals.py)."""
        s = self.session
        if isinstance(event, TryFinished):
            deferrals.after_finished(s.outbox.batch, s.keys, event, record)
        elif isinstance(event, TryResumed):
            deferrals.after_resumed(s.outbox.batch, s.keys, event, record)

    def _on_started(
        self, ctx: RunContext, key: TIKey, event: TryStarted, ending: set[TryRef]
    ) -> None:
        s = self.session
        try_number = event.try_number
        self._record_hop(ctx, key, event.at_s)
        if (event.run, event.ti, try_number) in ending:
            # Its end is in this same read: keep when and where it ran, and let the end
            # make the one transition (queued -> its end state).
            record = ctx.machine.tis.get(key)
            if record is not None and record.try_number == try_number:
                record_start(ctx, key, event)
        elif ctx.machine.task_started(key, try_number):
            s.recovery.running((ctx.ref, key), event.worker, try_number)
            record_start(ctx, key, event)
            persister = s.outbox.persister
            persister.write_ti(ctx, key)
            persister.ti_event(
                s.outbox.batch, ctx, event.ti, TaskInstanceState.RUNNING, try_number, event.worker
            )
        else:
            self._stop_untracked(ctx, key, event)

    def _stop_untracked(self, ctx: RunContext, key: TIKey, event: TryStarted) -> None:
        """A try started that this coordinator does not count: it decided otherwise before
        the claim but wrote it after (a clear or mark of a queued instance, fail-fast, a run
        that ended, a fast-path successor it overruled). Its worker stops it, as it stops a
        try cleared while running, and its end (if any comes first) is stale."""
        self._stop_try(event)

    def _stop_try(self, event: TryStarted) -> None:
        s = self.session
        dag_id, run_id = parse_run_ref(event.run)
        ident = StopIdent(dag_id, run_id, event.task_id, event.map_index, event.try_number)
        log.info(
            "stopping %s try %d on %s: not a try this coordinator counts",
            event.ti,
            event.try_number,
            event.worker,
        )
        s.outbox.batch.sadd(s.keys.worker_stop(event.worker), ident.encode())

    def _record_hop(self, ctx: RunContext, key: TIKey, started_at_s: float) -> None:
        """Successor start minus the latest end of its upstream instances, for /metrics."""
        meta = ctx.meta
        latest: float | None = None
        for task_id in ctx.graph.tasks[key.task_id].upstream:
            up = meta.get(TIKey(task_id))
            end = None if up is None else up.end_date
            if end is not None and (latest is None or end > latest):
                latest = end
        if latest is not None:
            self.session.outbox.persister.metrics.hop(started_at_s - latest)

    # ---- commands -------------------------------------------------------------------------

    async def on_command(self, command: Command) -> None:
        s = self.session
        match command:
            case RunCreated(run=run):
                await s.runs.activate(run)
            case DagUpdated(dag_id=dag_id, content_hash=content_hash):
                await s.scheduling.dag_updated(dag_id, content_hash)
                await s.assets.dag_updated(dag_id)
            case DagUnpaused(dag_id=dag_id):
                await s.scheduling.update_schedule(dag_id)
                await s.runs.start_queued(dag_id)
            case DagPaused(dag_id=dag_id):
                await s.scheduling.update_schedule(dag_id)
            case BackfillChanged():
                s.backfills.wake()
            case PoolsChanged():
                await s.admission.load_pools()
                s.admission.recheck_all()
            case ClearTasks(run=run, task_ids=task_ids):
                await self.clear(run, task_ids)
            case MarkTasks(run=run, marks=marks, whole_run=whole_run, run_state=run_state):
                keyed = [(TIKey(*ti), state) for ti, state in marks]
                await self.mark(run, keyed, whole_run, run_state)
            case WakeTask(run=run, task_id=task_id, map_index=map_index):
                self.wake(run, TIKey(task_id, map_index))
            case Tick():
                pass  # it ended the blocked read: the loop goes on with its pass
            case _:
                assert_never(command)

    async def clear(self, run: str, task_ids: Sequence[str]) -> None:
        """Reset those tasks' instances of ``run`` (and what the machine clears with them)."""
        ctx = await self._open(run)
        if ctx is None:
            return
        now = time.time()
        ctx.marked_whole = False
        known = [t for t in task_ids if t in ctx.graph.tasks]
        self._apply_to_open_run(ctx, ctx.machine.clear(known, now), now)

    def wake(self, run: str, key: TIKey) -> None:
        """Run a waiting instance of an open run now (a finished run has none waiting)."""
        ctx = self.session.state.runs.runs.get(run)
        if ctx is None or key not in ctx.machine.tis:
            return
        if ctx.machine.tis[key].state is TaskInstanceState.DEFERRED:
            # a deferred one waits on its trigger: a HITL trigger looks at its answer now
            ident = HITLIdent(ctx.dag_id, ctx.run_id, key.task_id, key.map_index)
            notice = hitl.answer_notice(ident)
            self.session.outbox.batch.xadd(
                self.session.keys.hitl_answers, hitl.ANSWERS_MAXLEN, notice
            )
            return
        now = time.time()
        self.session.progress.after_step(ctx, ctx.machine.wake(key, now), now)

    async def mark(
        self,
        run: str,
        marks: Sequence[tuple[TIKey, TaskInstanceState]],
        whole_run: bool = False,
        run_state: DagRunState | None = None,
    ) -> None:
        """Set instances' states by hand, all in one step: observers never see the run end
        between two of them (a run marked success never passes through "success" with an
        instance still failed). ``whole_run``: the marks set the run's own state;
        ``run_state``: the state it ends in when nothing is left to run (its instances'
        states aside, as Airflow's set_dag_run_state_to_failed/success set it)."""
        if run_state is not None and not marks and run not in self.session.state.runs.runs:
            stored = await self.session.runs.stored_state(run)
            if stored == run_state.value:
                return  # (a mark replayed after a restart: the run already ended so)
            if stored == DagRunState.QUEUED.value:
                await self.session.runs.end_queued(run, run_state)
                return  # (not started: it ends without starting, as Airflow sets it)
        ctx = await self._open(run)
        if ctx is None:
            return
        now = time.time()
        ctx.marked_whole = whole_run
        for key, _ in marks:
            if key not in ctx.machine.tis:
                log.error("skipping a mark of %s: run %s has no such instance", key, ctx.ref)
        known = [(key, state) for key, state in marks if key in ctx.machine.tis]
        if whole_run and run_state is not None:
            # the coordinator's own view decides, not the API's earlier snapshot (the run may
            # have started, or mapped instances appeared, since)
            teardowns = {t for t, spec in ctx.graph.tasks.items() if spec.is_teardown}
            state = TaskInstanceState(run_state.value)
            known = run_mark(ctx.machine.tis, teardowns, state)
        if known or run_state is not None:
            ctx.forced_end = run_state
            try:
                self._apply_to_open_run(ctx, ctx.machine.mark_many(known, now), now)
            finally:
                ctx.forced_end = None  # (a teardown left to run: the run ends as it ends)
            if whole_run and ctx.state is DagRunState.RUNNING:
                # not ended by the mark (a teardown still to run): it ends later as any run
                # does, with its DAG callback, as Airflow's scheduler ends it
                ctx.marked_whole = False

    async def _open(self, run: str) -> RunContext | None:
        return self.session.state.runs.runs.get(run) or await self.session.runs.reopen(run)

    def _apply_to_open_run(self, ctx: RunContext, step: Step, now: float) -> None:
        s = self.session
        if ctx.state is not DagRunState.RUNNING:
            s.outbox.persister.write_run_state(s.outbox.batch, ctx, DagRunState.RUNNING, now)
        stopping = set(step.to_stop)  # their tries' deferrals go with the stop (progress.py)
        for transition in step.transitions:
            if transition.key not in stopping:
                deferrals.after_move(s.outbox.batch, s.keys, ctx.dag_id, ctx.run_id, transition)
        s.progress.after_step(ctx, step, now)
