"""Recovery: tries lost with their worker, or lost on their way back.

A worker that stops heartbeating is reaped: its claimed tries fail (retryable; their task
callbacks recorded for the callbacks role, policies/task_callbacks.py), the messages
it read but never claimed go back to their queue, and its records go. A live worker whose two
fresh heartbeats in a row leave out a try it runs has lost that try's completion: the try
fails. The functions on plain data come first; :class:`Recovery` applies them each second.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from redis.exceptions import ResponseError

from airlane.engine.run_state import TaskOutcome, TIKey, TIRecord
from airlane.queue import typed
from airlane.queue.keys import WORKER_GROUP, run_ref, ti_field
from airlane.queue.messages import TaskMessage
from airlane.queue.protocol import ClaimRef, WorkerBeat, decoded_or_none
from airlane.sdk.state import TaskInstanceState
from airlane.service.coordinator.hooks import Policy
from airlane.service.coordinator.policies.task_callbacks import dead_try_job
from airlane.service.coordinator.state import RecoveryState, RunningTry, RunTI, TryRef

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")
S = TaskInstanceState
#: fresh heartbeats in a row that must leave a try out before it counts as lost
MISSED_BEATS = 2


def take_heartbeats(state: RecoveryState, workers: Mapping[str, WorkerBeat]) -> set[str]:
    """Record each worker's latest heartbeat; returns the workers with a fresh one."""
    fresh = {
        worker_id
        for worker_id, beat in workers.items()
        if beat.heartbeat_at_s > state.last_beat_s.get(worker_id, 0.0)
    }
    state.last_beat_s = {worker_id: beat.heartbeat_at_s for worker_id, beat in workers.items()}
    return fresh


def reported_tries(workers: Mapping[str, WorkerBeat], fresh: set[str]) -> set[TryRef]:
    """The tries the fresh heartbeats list as running (malformed refs are logged)."""
    reported: set[TryRef] = set()
    for worker_id in fresh:
        for ref in workers[worker_id].running:
            claim = decoded_or_none(ClaimRef.decode, ref, f"ref of worker {worker_id}", log)
            if claim is not None:
                reported.add((claim.run, claim.ti, claim.try_number))
    return reported


def is_lost(
    state: RecoveryState,
    item: RunTI,
    running: RunningTry,
    fresh: set[str],
    reported: set[TryRef],
    started_s: float | None,
) -> bool:
    """Count one more fresh heartbeat of ``running``'s worker that left it out, or reset the
    count if it listed it; True once it counts as lost."""
    if running.worker_id not in fresh:
        return False
    if started_s is not None and state.last_beat_s[running.worker_id] <= started_s:
        return False  # a heartbeat sent before the try started cannot list it
    ref, key = item
    if (ref, ti_field(key.task_id, key.map_index), running.try_number) in reported:
        state.unreported.pop(item, None)
        return False
    state.unreported[item] += 1
    if state.unreported[item] < MISSED_BEATS:
        return False
    del state.unreported[item]
    return True


def should_requeue(record: TIRecord | None, message: TaskMessage) -> bool:
    """Whether an unclaimed message still stands for the instance's current queued try."""
    return (
        record is not None and record.state is S.QUEUED and record.try_number == message.try_number
    )


class Recovery(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.state = session.state.recovery

    def forget(self, item: RunTI) -> None:
        """``item`` is no longer queued or running."""
        self.state.running_on.pop(item, None)
        self.state.unreported.pop(item, None)

    def running(self, item: RunTI, worker_id: str, try_number: int) -> None:
        self.state.running_on[item] = RunningTry(worker_id, try_number)
        self.state.unreported.pop(item, None)

    async def periodic(self, now_s: float) -> None:
        await self._reap_dead_workers(now_s)
        await self._reconcile_running(now_s)

    async def _reconcile_running(self, now: float) -> None:
        """Fail tries that a live worker no longer reports (a completion Redis lost)."""
        s = self.session
        raw_workers = await typed.hgetall(s.client, s.keys.workers)
        workers: dict[str, WorkerBeat] = {}
        for worker_id, raw in raw_workers.items():
            beat = decoded_or_none(WorkerBeat.decode, raw, f"worker {worker_id} record", log)
            if beat is not None:
                workers[worker_id] = beat
        fresh = take_heartbeats(self.state, workers)
        reported = reported_tries(workers, fresh)
        for item, running in list(self.state.running_on.items()):
            run, key = item
            ctx = s.state.runs.runs.get(run)
            started = ctx.meta[key].start_date if ctx is not None and key in ctx.meta else None
            if is_lost(self.state, item, running, fresh, reported, started):
                await self._fail_unreported(item, running, now)

    async def _claims_of(self, worker_id: str) -> dict[str, ClaimRef | None]:
        """The worker's claimed tries by their encoded ref (None: malformed, logged)."""
        s = self.session
        refs = await typed.smembers(s.client, s.keys.worker_tasks(worker_id))
        what = f"ref of worker {worker_id}"
        return {ref: decoded_or_none(ClaimRef.decode, ref, what, log) for ref in refs}

    async def _fail_unreported(self, item: RunTI, running: RunningTry, now: float) -> None:
        s = self.session
        run, key = item
        worker_id, try_number = running.worker_id, running.try_number
        held = False
        for ref, claim in (await self._claims_of(worker_id)).items():
            if claim is None or claim.run != run or claim.try_number != try_number:
                continue
            if (claim.task_id, claim.map_index) == (key.task_id, key.map_index):
                held = True
                s.outbox.batch.xack(claim.stream, WORKER_GROUP, claim.message_id)
                s.outbox.batch.srem(s.keys.worker_tasks(worker_id), ref)
        if not held:
            # The worker's finish (or hand back) removed it in the same script that wrote the
            # completion: that completion is on its way, the try is not lost.
            return
        log.warning(
            "worker %s no longer runs %s %s try %s; failing that try",
            worker_id,
            run,
            key,
            try_number,
        )
        ctx = s.state.runs.runs.get(run)
        if ctx is not None:
            outcome = TaskOutcome(S.FAILED, try_number, error=f"worker {worker_id} lost this try")
            s.progress.after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)

    async def _reap_dead_workers(self, now: float) -> None:
        s = self.session
        cutoff = now - s.settings.worker_timeout_s
        dead = await typed.zrangebyscore(s.client, s.keys.worker_beats, "-inf", cutoff)
        for worker_id in dead:
            log.warning("worker %s stopped heartbeating; failing its tries", worker_id)
            for claim in (await self._claims_of(worker_id)).values():
                if claim is not None:
                    self._fail_lost_try(claim, worker_id, now)
            await self._requeue_undelivered(worker_id, now)
            batch = s.outbox.batch
            batch.delete(s.keys.worker_tasks(worker_id))
            batch.delete(s.keys.worker_stop(worker_id))
            batch.hdel(s.keys.workers, worker_id)
            batch.zrem(s.keys.worker_beats, worker_id)

    def _fail_lost_try(self, claim: ClaimRef, worker_id: str, now: float) -> None:
        s = self.session
        s.outbox.batch.xack(claim.stream, WORKER_GROUP, claim.message_id)
        ctx = s.state.runs.runs.get(claim.run)
        if ctx is None:
            return
        reason = f"worker {worker_id} stopped heartbeating"
        outcome = TaskOutcome(S.FAILED, claim.try_number, retryable=True, error=reason)
        key = TIKey(claim.task_id, claim.map_index)
        before = ctx.machine.tis.get(key)
        s.progress.after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)
        job = dead_try_job(ctx, key, before, claim.try_number, reason, now)
        if job is not None:  # its callbacks died with the worker: the callbacks role runs them
            s.outbox.batch.hset(s.keys.callbacks_pending, job.job_id, job.encode())

    async def _requeue_undelivered(self, worker_id: str, now: float) -> None:
        """Messages the dead worker read but never claimed go back to the queue."""
        s = self.session
        streams = {
            s.keys.queue(spec.queue)
            for ctx in s.state.runs.runs.values()
            for spec in ctx.graph.tasks.values()
        }
        for stream in streams:
            try:
                pending = await typed.xpending_consumer(s.client, stream, WORKER_GROUP, worker_id)
            except ResponseError:
                continue
            for message_id in pending:
                await self._requeue_message(stream, message_id, now)
            try:
                await s.client.xgroup_delconsumer(stream, WORKER_GROUP, worker_id)
            except ResponseError:
                pass

    async def _requeue_message(self, stream: str, message_id: str, now: float) -> None:
        s = self.session
        entries = await typed.xrange(s.client, stream, message_id, message_id)
        s.outbox.batch.xack(stream, WORKER_GROUP, message_id)
        if not entries:
            return
        message = decoded_or_none(TaskMessage.from_fields, entries[0][1], "task message", log)
        if message is None:
            return
        ctx = s.state.runs.runs.get(run_ref(message.dag_id, message.run_id))
        key = TIKey(message.task_id, message.map_index)
        if ctx is None or key.task_id not in ctx.graph.tasks:
            return
        if should_requeue(ctx.machine.tis.get(key), message):
            queue = ctx.graph.tasks[key.task_id].queue
            s.outbox.persister.enqueue(s.outbox.batch, ctx, key, queue, now)
