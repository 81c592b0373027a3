"""The coordinator: the only writer of run progress.

One loop, one consumer: it blocks on the completion and command streams, feeds events to the
state machines of active runs, dispatches ready task instances within their DAG's and pool's
slots, and writes everything an event caused, with the event's acknowledgement, in one
``apply`` call that Redis refuses unless this coordinator holds the lease. A restarted
coordinator rebuilds every active run from Redis and carries on; a second one stands by until
the lease is free.

This module is the loop (lease, reads, flushes, the periodic pass); what a pass does lives in
the session's parts (see :mod:`.session`) and its policies (see :mod:`.hooks`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from airlane.dag_loader import plugins
from airlane.queue import typed
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.groups import ensure_group
from airlane.queue.keys import COORDINATOR_GROUP, Keys
from airlane.queue.protocol import (
    Command,
    Completion,
    TryFinished,
    TryReleased,
    TryResumed,
    TryStarted,
    decode_command,
    decode_completion,
    decoded_or_none,
)
from airlane.queue.scripts import StreamRead
from airlane.queue.store import Store
from airlane.queue.trimming import StreamTrimmer
from airlane.scheduling.backfill import BackfillRunner
from airlane.scheduling.scheduler import Scheduler
from airlane.service.coordinator.alarm import Alarm
from airlane.service.coordinator.events import tries_ending
from airlane.service.coordinator.lease import Lease
from airlane.service.coordinator.pacing import quiet_finish, wait_before_read_s
from airlane.service.coordinator.session import Session
from airlane.service.coordinator.settings import CONSUMER, CoordinatorSettings, LeaseLost
from airlane.service.retention import RetentionDuty

log = logging.getLogger("airlane.coordinator")
#: the stream positions that read back entries delivered before and never acknowledged
_PENDING = "0"
_NEW = ">"


class Coordinator:
    def __init__(self, settings: CoordinatorSettings, client: aioredis.Redis, keys: Keys) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.lease = Lease(client, keys, settings.lease_ttl_ms)
        self.alarm = Alarm(client, keys)
        self.scheduler = Scheduler(
            Store(client, keys), data_intervals_default=settings.data_intervals_default
        )
        self.backfills = BackfillRunner(Store(client, keys))
        self.retention = RetentionDuty(
            client, keys, settings.run_retention_s, settings.retention_interval_s
        )
        self.trimmer = StreamTrimmer(client, keys, settings.trim_interval_s)
        self.session = self._new_session()
        #: the pass under way read a finish nothing waits on (pacing.wait_before_read_s)
        self._read_quiet_finish = False

    @property
    def coordinator_id(self) -> str:
        return self.lease.holder_id

    def _new_session(self) -> Session:
        self.alarm.reset()
        return Session(
            self.settings, self.client, self.keys, self.lease, self.scheduler, self.backfills
        )

    # ---- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        # custom timetables are re-created from plugin classes: import them once, off the loop
        await asyncio.to_thread(plugins.ensure_loaded)
        for stream in (self.keys.completions, self.keys.commands):
            await ensure_group(self.client, stream, COORDINATOR_GROUP)
        try:
            while not stop.is_set():
                try:
                    if not await self.lease.acquire():
                        await _wait(stop, 1.0)
                        continue
                    log.info("coordinator %s holds the lease", self.coordinator_id)
                    await self._serve(stop)
                except LeaseLost:
                    log.warning("lease lost; standing by")
                except TRANSIENT_ERRORS as err:
                    log.warning("redis unavailable (%s); retrying", err)
                    await _wait(stop, 0.5)
                self.session = self._new_session()
        finally:
            await self.lease.release()

    async def _serve(self, stop: asyncio.Event) -> None:
        s = self.session
        await s.admission.load_pools()
        await s.runs.load_active()
        await s.flush()
        await s.scheduling.load()
        await self._consume(_PENDING)
        last_check = 0.0
        while not stop.is_set():
            now = time.time()
            if now - last_check >= self.settings.check_interval_s:
                await self._periodic(now)
                last_check = now
            block_ms = self._block_ms(last_check)
            self.alarm.set(time.time() + block_ms / 1000)
            # (what the last pass wrote goes with this read: one round trip, the writes first)
            enqueued = s.outbox.persister.enqueued
            self._read_quiet_finish = False
            await self._consume(_NEW, block_ms, flush=True)
            await s.hooks.after_read()
            s.progress.drain_ready()
            queued_any = s.outbox.persister.enqueued != enqueued
            wait_s = wait_before_read_s(
                self._read_quiet_finish, queued_any, self.settings.fast_batch_s
            )
            if wait_s:
                await asyncio.sleep(wait_s)
        await s.flush()

    def _block_ms(self, last_check: float) -> int:
        wake = last_check + self.settings.check_interval_s
        policy_wake = self.session.hooks.wake_s()
        if policy_wake is not None:
            wake = min(wake, policy_wake)
        return max(1, min(1000, int((wake - time.time()) * 1000)))

    # ---- reading --------------------------------------------------------------------------

    async def _consume(
        self, position: str, block_ms: int | None = None, flush: bool = False
    ) -> None:
        """Read and take the next entries; ``flush``: write everything pending first, in the
        same round trip as the read (Outbox.flush_then_read)."""
        s = self.session
        read = StreamRead(
            COORDINATOR_GROUP,
            CONSUMER,
            {self.keys.completions: position, self.keys.commands: position},
            self.settings.read_count,
            block_ms,
        )
        if flush:
            response = await s.flush_then_read(read)
        else:
            response = await typed.xreadgroup(
                self.client,
                read.group,
                read.consumer,
                read.streams,
                count=read.count,
                block=read.block_ms,
            )
        now = time.time()
        for stream, entries in response or []:
            if entries:
                oldest_ms = int(entries[0][0].split("-", 1)[0])
                s.outbox.persister.metrics.event_lag(now - oldest_ms / 1000)
            events = self._decode(stream, [fields for _, fields in entries])
            if not self._read_quiet_finish:
                self._read_quiet_finish = any(map(self._quiet_finish, events))
            ending = tries_ending(events)
            admission = s.state.admission
            for event in events:
                match event:
                    case TryStarted() | TryFinished() | TryReleased() | TryResumed():
                        s.events.on_completion(event, ending)
                    case None:
                        pass  # malformed: logged, and acknowledged with the rest
                    case _:
                        await s.events.on_command(event)
                if admission.ready:  # (drain_ready's own test, without a call per event)
                    s.progress.drain_ready()
                if s.outbox.full():  # not through flush_if_full: no coroutine per event
                    await s.flush()
            if s.assets.pending:  # recorded before their completions are acknowledged
                await s.assets.record_pending()
            s.outbox.batch.xack(stream, COORDINATOR_GROUP, *(entry_id for entry_id, _ in entries))

    def _quiet_finish(self, event: object) -> bool:
        """A try's end whose successors the fast path already started, or one of a task
        without downstream tasks (a fan-out's leaf): no task waits on this pass for it."""
        if type(event) is not TryFinished:
            return False
        ctx = self.session.state.runs.runs.get(event.run)
        task = ctx.graph.tasks.get(event.task_id) if ctx is not None else None
        return quiet_finish(bool(event.fast), task.downstream if task is not None else None)

    def _decode(
        self, stream: str, entries: list[dict[str, str]]
    ) -> list[Completion | Command | None]:
        """A malformed entry is logged (None here) and acknowledged with the rest."""
        if stream == self.keys.completions:
            return [decoded_or_none(decode_completion, f, "completion", log) for f in entries]
        return [decoded_or_none(decode_command, f, "command", log) for f in entries]

    # ---- the periodic pass ----------------------------------------------------------------

    async def _periodic(self, now: float) -> None:
        s = self.session
        await self.lease.renew()
        await self.client.set(self.keys.coordinator_beat, repr(now))
        # Entries delivered to us whose reply a dropped connection lost sit in our pending list
        # and a ">" read never returns them: every periodic pass reads them back (our own
        # list is empty once the acknowledgements of the last read are flushed).
        await s.flush()
        await self._consume(_PENDING)
        await s.admission.load_pools()
        s.admission.recheck_all()
        for dag_id in list(s.state.runs.pending_starts):
            s.state.runs.pending_starts.discard(dag_id)
            await s.runs.start_queued(dag_id)
        await s.hooks.periodic(now)
        await self.trimmer.maybe_trim(now, s.state.runs.graphs)
        await self.retention.maybe_run(now)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
