"""The coordinator: the only writer of run progress.

One loop, one consumer: it blocks on the completion and command streams, feeds events to the
state machines of active runs, dispatches ready task instances within ``max_active_tasks``, and
writes everything an event caused, with the event's acknowledgement, in one ``apply`` call that
Redis refuses unless this coordinator holds the lease. A restarted coordinator rebuilds every
active run from Redis and carries on; a second one stands by until the lease is free.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import socket
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.queue import typed
from airlane.queue.codec import TIMeta, decode_ti
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.events_protocol import RunTimeoutEvent
from airlane.queue.keys import (
    COORDINATOR_GROUP,
    WORKER_GROUP,
    Keys,
    parse_run_ref,
    run_ref,
    ti_field,
)
from airlane.queue.messages import STREAM_MAXLEN, TaskMessage
from airlane.queue.protocol import (
    ClaimRef,
    Command,
    CommandKind,
    Completion,
    CompletionKind,
    StopIdent,
    WorkerBeat,
    decoded_or_none,
)
from airlane.queue.scripts import Batch, Scripts
from airlane.queue.store import Store
from airlane.queue.trimming import StreamTrimmer
from airlane.scheduling.backfill import BackfillRunner
from airlane.scheduling.scheduler import Scheduler
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.graph import DagGraph
from airlane.service.retention import RetentionDuty
from airlane.service.run_context import Persister, RunContext
from airlane.service.run_state import Step, TaskOutcome, TIKey, TIRecord
from airlane.service.state_machine import RunMachine
from airlane.service.stored_records import decode_dag, decode_pool_slots, decode_tis, epoch_s
from airlane.service.worker import ensure_group

log = logging.getLogger("airlane.coordinator")
S = TaskInstanceState
_HELD = frozenset({S.QUEUED, S.RUNNING})
CONSUMER = "active"
DEFAULT_POOL_SLOTS = 128
#: operations per apply call: larger batches are written in several calls, in order
MAX_BATCH_OPS = 20_000


@dataclass(frozen=True, slots=True)
class CoordinatorSettings:
    redis_url: str
    lease_ttl_s: float = 10.0
    worker_timeout_s: float = 10.0
    check_interval_s: float = 1.0
    read_count: int = 1000
    #: Airflow 2's data-interval semantics for cron and timedelta schedules (Airflow's
    #: [scheduler] create_cron_data_intervals); a DAG's explicit timetable overrides it
    data_intervals_default: bool = False
    #: housekeeping: finished runs started longer ago go (0: never), looked for this often
    run_retention_s: float = 0.0
    retention_interval_s: float = 600.0
    #: how often acknowledged entries are trimmed from the work streams
    trim_interval_s: float = 2.0


class LeaseLost(Exception):
    """Another coordinator holds the lease: stop acting at once."""


class Coordinator:
    def __init__(self, settings: CoordinatorSettings, client: aioredis.Redis, keys: Keys) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.scripts = Scripts.register(client)
        self.coordinator_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.persister = Persister(keys)
        #: the tasks sleeping until an alarm rings (see _set_alarm)
        self._alarms: set[asyncio.Task[None]] = set()
        self.scheduler = Scheduler(
            Store(client, keys), data_intervals_default=settings.data_intervals_default
        )
        self.backfills = BackfillRunner(Store(client, keys))
        self.retention = RetentionDuty(
            client, keys, settings.run_retention_s, settings.retention_interval_s
        )
        self.trimmer = StreamTrimmer(client, keys, settings.trim_interval_s)
        self._reset()

    def _reset(self) -> None:
        self.runs: dict[str, RunContext] = {}
        self.graphs: dict[str, tuple[dict[str, Any], DagGraph]] = {}
        self.waiting: dict[str, deque[tuple[str, TIKey]]] = {}
        self.held: Counter[str] = Counter()
        #: pool slots taken by queued and running instances, and each pool's size
        self.pool_held: Counter[str] = Counter()
        self.pool_slots: dict[str, int] = {}
        #: (run ref, instance) -> (worker id, try) for running instances, and how many fresh
        #: heartbeats of that worker in a row did not list it
        self.running_on: dict[tuple[str, TIKey], tuple[str, int]] = {}
        self.unreported: Counter[tuple[str, TIKey]] = Counter()
        self.last_beat: dict[str, float] = {}
        self.due: list[tuple[float, str]] = []
        self.ready: deque[tuple[str, TIKey]] = deque()
        self.batch = Batch()
        self.persister.reset()
        self.touched_dags: set[str] = set()
        #: DAGs with a run that ended: their queued runs may start now
        self.pending_starts: set[str] = set()
        #: runs not running yet, by DAG: waiting for room, or created and not yet seen
        self.queued_refs: dict[str, set[str]] = {}
        #: a backfill changed or a second passed: let backfills take their next dates
        self.advance_backfills = True
        #: DAGs whose run just failed: auto-paused when their last runs all failed
        self.failure_checks: set[str] = set()
        #: ready instances of depends_on_past tasks waiting for the previous run's instance,
        #: and those found free to go
        self.past_waiting: dict[tuple[str, TIKey], None] = {}
        self.past_ok: set[tuple[str, TIKey]] = set()
        self.past_new = False
        self.past_checked_s = 0.0
        #: when the pending alarm rings (see _set_alarm)
        self._alarm_s: float | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        for stream in (self.keys.completions, self.keys.commands):
            await ensure_group(self.client, stream, COORDINATOR_GROUP)
        try:
            while not stop.is_set():
                try:
                    if not await self._acquire():
                        await _wait(stop, 1.0)
                        continue
                    log.info("coordinator %s holds the lease", self.coordinator_id)
                    await self._serve(stop)
                except LeaseLost:
                    log.warning("lease lost; standing by")
                except (
                    ConnectionError,
                    OSError,
                    aioredis.ConnectionError,
                    aioredis.TimeoutError,
                ) as err:
                    log.warning("redis unavailable (%s); retrying", err)
                    await _wait(stop, 0.5)
                self._reset()
        finally:
            await self._release()

    async def _acquire(self) -> bool:
        ttl_ms = int(self.settings.lease_ttl_s * 1000)
        if await self.client.set(self.keys.lease, self.coordinator_id, nx=True, px=ttl_ms):
            return True
        return await typed.get(self.client, self.keys.lease) == self.coordinator_id

    async def _release(self) -> None:
        try:
            if await typed.get(self.client, self.keys.lease) == self.coordinator_id:
                await self.client.delete(self.keys.lease)
        except (ConnectionError, OSError, aioredis.ConnectionError):
            pass

    async def _serve(self, stop: asyncio.Event) -> None:
        await self._load_pools()
        await self._load_active_runs()
        await self._flush()
        await self._load_schedules()
        await self._consume({self.keys.completions: "0", self.keys.commands: "0"})
        last_check = 0.0
        while not stop.is_set():
            now = time.time()
            if now - last_check >= self.settings.check_interval_s:
                await self._periodic(now)
                last_check = now
            block_ms = self._block_ms(last_check)
            self._set_alarm(time.time() + block_ms / 1000)
            await self._consume({self.keys.completions: ">", self.keys.commands: ">"}, block_ms)
            self._tick_due(time.time())
            await self._schedule_runs()
            if self.advance_backfills:
                self.advance_backfills = False
                await self._advance_backfills()
            if self.past_waiting and (self.past_new or time.time() - self.past_checked_s > 0.25):
                await self._check_past()
            self._drain_ready()
            await self._flush()

    def _set_alarm(self, wake_s: float) -> None:
        """Wake the blocked read at ``wake_s`` by adding a tick to the commands stream.

        Redis times out a blocked read on its own cron tick (every 1000/hz ms, 100 ms by
        default), far too coarse for a run due at a given millisecond; a tick written on time
        ends the read at once. An earlier alarm supersedes a later one; a stale one only costs
        a harmless extra tick.
        """
        if wake_s - time.time() > 0.9 or (self._alarm_s is not None and self._alarm_s <= wake_s):
            return  # the periodic check wakes the loop soon enough, or an alarm is set already
        self._alarm_s = wake_s
        task = asyncio.create_task(self._ring(wake_s))
        self._alarms.add(task)
        task.add_done_callback(self._alarms.discard)

    async def _ring(self, wake_s: float) -> None:
        await asyncio.sleep(max(0.0, wake_s - time.time()))
        if self._alarm_s == wake_s:
            self._alarm_s = None
        try:
            await self.client.xadd(
                self.keys.commands,
                Command(CommandKind.TICK).to_fields(),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        except TRANSIENT_ERRORS:
            pass  # the read times out by itself, later

    def _block_ms(self, last_check: float) -> int:
        wake = last_check + self.settings.check_interval_s
        if self.due:
            wake = min(wake, self.due[0][0])
        scheduled = self.scheduler.next_due_s()
        if scheduled is not None:
            wake = min(wake, scheduled)
        return max(1, min(1000, int((wake - time.time()) * 1000)))

    async def _consume(self, streams: dict[str, str], block_ms: int | None = None) -> None:
        response = await typed.xreadgroup(
            self.client,
            COORDINATOR_GROUP,
            CONSUMER,
            streams,
            count=self.settings.read_count,
            block=block_ms,
        )
        now = time.time()
        for stream, entries in response or []:
            if entries:
                oldest_ms = int(entries[0][0].split("-", 1)[0])
                self.persister.metrics.event_lag(now - oldest_ms / 1000)
            # A malformed entry is logged and acknowledged with the rest, never applied.
            events: list[Completion | Command | None]
            if stream == self.keys.completions:
                events = [
                    decoded_or_none(Completion.from_fields, f, "completion", log)
                    for _, f in entries
                ]
            else:
                events = [
                    decoded_or_none(Command.from_fields, f, "command", log) for _, f in entries
                ]
            ending = _tries_ending(events)
            for event in events:
                if isinstance(event, Completion):
                    self._on_completion(event, ending)
                elif isinstance(event, Command):
                    await self._on_command(event)
                self._drain_ready()
                if len(self.batch) + len(self.persister.dirty) > MAX_BATCH_OPS:
                    # Long batches write as they go, which also keeps the lease renewed.
                    await self._flush()
            self.batch.xack(stream, COORDINATOR_GROUP, *(entry_id for entry_id, _ in entries))

    async def _flush(self) -> None:
        self._dispatch_touched()
        self.batch = self.persister.write_records(self.batch)
        ttl_ms = int(self.settings.lease_ttl_s * 1000)
        while self.batch:
            chunk, self.batch = self.batch, self.batch.split(MAX_BATCH_OPS)
            try:
                await self.scripts.apply(
                    keys=[self.keys.lease], args=[self.coordinator_id, ttl_ms, chunk.encode()]
                )
            except ResponseError as err:
                if "NOLEASE" in str(err):
                    raise LeaseLost from None
                raise

    # ---- loading runs ---------------------------------------------------------------------

    async def _graph(self, content_hash: str) -> tuple[dict[str, Any], DagGraph] | None:
        if content_hash not in self.graphs:
            raw = await typed.get(self.client, self.keys.dag_snapshot(content_hash))
            loaded = None if raw is None else decoded_or_none(decode_dag, raw, "DAG", log)
            if loaded is None:
                return None
            self.graphs[content_hash] = loaded
        return self.graphs[content_hash]

    async def _load_pools(self) -> None:
        raw = await typed.hgetall(self.client, self.keys.pools)
        slots = {
            name: decoded_or_none(decode_pool_slots, v, "pool", log) for name, v in raw.items()
        }
        self.pool_slots = {name: n for name, n in slots.items() if n is not None}

    def _pool_limit(self, pool: str) -> float:
        if pool in self.pool_slots:
            slots = self.pool_slots[pool]
            return float("inf") if slots < 0 else slots  # -1: unlimited, as in Airflow
        return DEFAULT_POOL_SLOTS if pool == "default_pool" else 0

    async def _load_active_runs(self) -> None:
        refs = sorted(await typed.smembers(self.client, self.keys.active_runs))
        for ref in refs:
            await self._activate(ref)
            if len(self.batch) + len(self.persister.dirty) > MAX_BATCH_OPS:
                await self._flush()

    async def _activate(self, ref: str, reopening: bool = False) -> RunContext | None:
        """Drive run ``ref``: start it if it is queued and may start, or rebuild it.

        A finished run that a clear or mark reopens (``reopening``) is not ended again by this
        first step: the command that reopens it decides its state.
        """
        if ref in self.runs:
            return self.runs[ref]
        dag_id, run_id = parse_run_ref(ref)
        fields = await typed.hgetall(self.client, self.keys.run(dag_id, run_id))
        if not fields:
            self.batch.srem(self.keys.active_runs, ref)
            return None
        content_hash = fields.get("dag_hash") or await typed.hget(
            self.client, self.keys.dags, dag_id
        )
        loaded = await self._graph(content_hash) if content_hash else None
        if loaded is None:
            return None
        dag, graph = loaded
        state = fields.get("state", "queued")
        if state == "queued" and not await self._may_start(dag_id, dag, fields.get("run_type")):
            self.queued_refs.setdefault(dag_id, set()).add(ref)
            return None
        self.queued_refs.get(dag_id, set()).discard(ref)
        raw_tis = await typed.hgetall(self.client, self.keys.tis(dag_id, run_id))
        records, metas = decode_tis(raw_tis, graph, ref)
        machine = RunMachine(
            graph, records or None, ti_identity=f"{dag_id}#{fields.get('logical_date')}"
        )
        fields.pop("conf", None)  # workers read it from the run: not held for every run here
        ctx = RunContext(dag_id, run_id, dag, graph, machine, fields, metas)
        self.runs[ref] = ctx
        now = time.time()
        if state != "running":
            self.batch.hset(self.keys.run(dag_id, run_id), "dag_hash", str(content_hash))
            self.persister.write_run_state(self.batch, ctx, DagRunState.RUNNING, now)
        timeout_s = dag.get("dagrun_timeout_s")
        if timeout_s:
            started = epoch_s(fields.get("start_date"), now) if state == "running" else now
            ctx.deadline_s = started + timeout_s
        for key, record in machine.tis.items():
            if record.state is S.RUNNING and key in metas and metas[key].worker:
                self.running_on[(ref, key)] = (str(metas[key].worker), record.try_number)
            if record.state in _HELD:
                self.held[dag_id] += 1
                spec = graph.tasks[key.task_id]
                self.pool_held[spec.pool] += spec.pool_slots
        if not records:
            for key in machine.tis:
                self.persister.write_ti(ctx, key)
        self.ready.extend((ref, key) for key in machine.scheduled_keys())
        self._after_step(ctx, machine.start(now), now, may_end=not reopening)
        return ctx

    async def _may_start(self, dag_id: str, dag: dict[str, Any], run_type: str | None) -> bool:
        if run_type == "backfill":
            return True  # as in Airflow 3: the backfill's own max_active_runs and pause rule
        if await self.client.sismember(self.keys.paused, dag_id):
            return False
        running = sum(
            1
            for ctx in self.runs.values()
            if ctx.dag_id == dag_id and ctx.fields.get("run_type") != "backfill"
        )
        return running < int(dag.get("max_active_runs", 16))

    async def _start_queued_runs(self, dag_id: str) -> None:
        refs = await typed.smembers(self.client, self.keys.active_runs)
        self.queued_refs[dag_id] = {
            r for r in refs if parse_run_ref(r)[0] == dag_id and r not in self.runs
        }
        for ref in sorted(r for r in refs if parse_run_ref(r)[0] == dag_id and r not in self.runs):
            if await self._activate(ref) is None:
                break

    # ---- events ---------------------------------------------------------------------------

    def _on_completion(self, event: Completion, ending: set[tuple[str, str, int]]) -> None:
        ctx = self.runs.get(event.run)
        if ctx is None:
            return
        if event.task_id not in ctx.graph.tasks:
            log.error("skipping a completion for unknown task %s of %s", event.ti, event.run)
            return
        key = TIKey(event.task_id, event.map_index)
        try_number = event.try_number
        now = time.time()
        if event.kind is CompletionKind.STARTED:
            self._record_hop(ctx, key, event.at_s)
            if (event.run, event.ti, try_number) in ending:
                # Its end is in this same read: keep when and where it ran, and let the end
                # make the one transition (queued -> its end state).
                record = ctx.machine.tis.get(key)
                if record is not None and record.try_number == try_number:
                    _record_start(ctx, key, event)
            elif ctx.machine.task_started(key, try_number):
                self.running_on[(ctx.ref, key)] = (event.worker, try_number)
                self.unreported.pop((ctx.ref, key), None)
                _record_start(ctx, key, event)
                self.persister.write_ti(ctx, key)
                self.persister.ti_event(
                    self.batch, ctx, event.ti, "running", try_number, event.worker
                )
        elif event.kind is CompletionKind.FINISHED:
            outcome = event.outcome
            assert outcome is not None  # Completion.from_fields decodes it for this kind
            if outcome.ended_at_s is not None:
                ctx.ended_at[key] = outcome.ended_at_s
            self._after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)
        else:
            self.batch.hdel(self.keys.claims(ctx.dag_id, ctx.run_id), event.ti)
            self._after_step(ctx, ctx.machine.task_released(key, try_number, now), now)

    def _record_hop(self, ctx: RunContext, key: TIKey, started_at_s: float) -> None:
        """Successor start minus the latest end of its upstream instances, for /metrics."""
        ends = [
            ctx.meta[up].end_date
            for up in (TIKey(task_id) for task_id in ctx.graph.tasks[key.task_id].upstream)
            if up in ctx.meta and ctx.meta[up].end_date is not None
        ]
        if ends:
            self.persister.metrics.hop(started_at_s - max(e for e in ends if e is not None))

    async def _on_command(self, command: Command) -> None:
        kind = command.kind
        if kind is CommandKind.RUN_CREATED:
            await self._activate(command.run)
        elif kind is CommandKind.DAG_UPDATED:
            loaded = await self._graph(command.content_hash)
            await self.scheduler.update(command.dag_id, loaded[0] if loaded else None, _utcnow())
        elif kind is CommandKind.UNPAUSED:
            await self._update_schedule(command.dag_id)
            await self._start_queued_runs(command.dag_id)
        elif kind is CommandKind.PAUSED:
            await self._update_schedule(command.dag_id)
        elif kind is CommandKind.BACKFILL:
            self.advance_backfills = True
        elif kind is CommandKind.POOLS:
            await self._load_pools()
            self.touched_dags.update(self.waiting)
        elif kind in (CommandKind.CLEAR, CommandKind.MARK):
            await self._clear_or_mark(command)

    async def _clear_or_mark(self, command: Command) -> None:
        ctx = self.runs.get(command.run) or await self._reopen(command.run)
        if ctx is None:
            return
        now = time.time()
        if command.kind is CommandKind.CLEAR:
            task_ids = [t for t in command.task_ids if t in ctx.graph.tasks]
            step = ctx.machine.clear(task_ids, now)
        else:
            marks = [(TIKey(*ti), state) for ti, state in command.marks]
            for key, _ in marks:
                if key not in ctx.machine.tis:
                    log.error("skipping a mark of %s: run %s has no such instance", key, ctx.ref)
            marks = [(key, state) for key, state in marks if key in ctx.machine.tis]
            if not marks:
                return
            step = ctx.machine.mark_many(marks, now)
        if ctx.state is not DagRunState.RUNNING:
            self.persister.write_run_state(self.batch, ctx, DagRunState.RUNNING, now)
        self._after_step(ctx, step, now)

    # ---- scheduling -----------------------------------------------------------------------

    async def _load_schedules(self) -> None:
        dags: dict[str, dict[str, Any]] = {}
        for dag_id, content_hash in (await typed.hgetall(self.client, self.keys.dags)).items():
            if await self.client.sismember(self.keys.inactive, dag_id):
                continue
            loaded = await self._graph(content_hash)
            if loaded is not None:
                dags[dag_id] = loaded[0]
        await self.scheduler.load(dags, _utcnow())

    async def _update_schedule(self, dag_id: str) -> None:
        content_hash = await typed.hget(self.client, self.keys.dags, dag_id)
        loaded = await self._graph(content_hash) if content_hash else None
        await self.scheduler.update(dag_id, loaded[0] if loaded else None, _utcnow())

    async def _schedule_runs(self) -> None:
        due = self.scheduler.next_due_s()
        if due is None or due > time.time():
            return
        # Runs that ended in this batch leave Redis's active set before new ones join it.
        await self._flush()
        going: Counter[str] = Counter(ctx.dag_id for ctx in self.runs.values())
        for dag_id, refs in self.queued_refs.items():
            going[dag_id] += len(refs)
        for ref in await self.scheduler.create_due(_utcnow(), dict(going)):
            # Counted as queued until its run_created command activates it.
            self.queued_refs.setdefault(parse_run_ref(ref)[0], set()).add(ref)

    async def _check_past(self) -> None:
        """depends_on_past: an instance runs once the same instance of the previous run (by
        logical date) succeeded or was skipped; with wait_for_downstream, also the
        instances right downstream of it there. The first run has nothing to wait for."""
        self.past_new = False
        self.past_checked_s = time.time()
        for item in list(self.past_waiting):
            ref, key = item
            ctx = self.runs.get(ref)
            if ctx is None:
                del self.past_waiting[item]
                continue
            if await self._past_allows(ctx, key):
                del self.past_waiting[item]
                self.past_ok.add(item)
                self.ready.append(item)
        self._drain_ready()

    async def _past_allows(self, ctx: RunContext, key: TIKey) -> bool:
        logical = ctx.fields.get("logical_date")
        if not logical:
            return True
        when = decoded_or_none(datetime.fromisoformat, logical, "logical date", log)
        if when is None:
            return True
        score = when.timestamp()
        earlier = await self.client.zrevrangebyscore(
            self.keys.runs_of(ctx.dag_id), f"({score}", "-inf", start=0, num=1
        )
        if not earlier:
            return True
        prev_id = str(earlier[0])
        spec = ctx.graph.tasks[key.task_id]
        needed = [key.task_id, *(spec.downstream if spec.wait_for_downstream else ())]
        prev_ctx = self.runs.get(f"{ctx.dag_id}|{prev_id}")
        for task_id in needed:
            prev_key = TIKey(task_id, key.map_index if task_id == key.task_id else -1)
            if prev_ctx is not None:
                record = prev_ctx.machine.tis.get(prev_key)
                state = record.state.value if record is not None else None
            else:
                raw = await typed.hget(
                    self.client,
                    self.keys.tis(ctx.dag_id, prev_id),
                    f"{prev_key.task_id}|{prev_key.map_index}",
                )
                what = f"instance {prev_key} of {ctx.dag_id} {prev_id}"
                found = decoded_or_none(decode_ti, raw, what, log) if raw else None
                state = found[0].state.value if found else None
            if state is not None and state not in ("success", "skipped"):
                return False
        return True

    async def _pause_failing_dags(self) -> None:
        """Airflow's max_consecutive_failed_dag_runs: pause a DAG whose last N runs failed."""
        for dag_id in list(self.failure_checks):
            self.failure_checks.discard(dag_id)
            content_hash = await typed.hget(self.client, self.keys.dags, dag_id)
            loaded = await self._graph(content_hash) if content_hash else None
            limit = int((loaded[0] if loaded else {}).get("max_consecutive_failed_dag_runs") or 0)
            if limit <= 0:
                continue
            latest = await self.client.zrevrange(self.keys.runs_of(dag_id), 0, limit - 1)
            if len(latest) < limit:
                continue
            states = [
                await typed.hget(self.client, self.keys.run(dag_id, str(run_id)), "state")
                for run_id in latest
            ]
            if all(state == "failed" for state in states):
                log.warning("DAG %s: its last %s runs failed; pausing it", dag_id, limit)
                await self.scheduler.store.set_paused(dag_id, True)

    async def _advance_backfills(self) -> None:
        unfinished = {ctx.ref for ctx in self.runs.values()}
        for refs in self.queued_refs.values():
            unfinished |= refs
        for item in await self.backfills.advance(unfinished):
            run = run_ref(item.dag_id, item.run_id)
            await self._on_command(Command(CommandKind.CLEAR, run=run, task_ids=item.task_ids))

    async def _reopen(self, ref: str) -> RunContext | None:
        """A finished run that a clear or mark brings back."""
        # It is read back from Redis: what this pass wrote about it (its end, a mark of the
        # same read) must be there first, or the stale records would be written over it.
        await self._flush()
        dag_id, run_id = parse_run_ref(ref)
        if not await self.client.exists(self.keys.run(dag_id, run_id)):
            return None
        await self.client.hset(self.keys.run(dag_id, run_id), "state", "running")
        return await self._activate(ref, reopening=True)

    # ---- applying steps -------------------------------------------------------------------

    def _after_step(self, ctx: RunContext, step: Step, now: float, may_end: bool = True) -> None:
        for key in step.to_stop:
            # Cleared while running: its worker stops it (its end, if any, is then stale).
            running = self.running_on.get((ctx.ref, key))
            if running is not None:
                worker_id, try_number = running
                ident = StopIdent(ctx.dag_id, ctx.run_id, key.task_id, key.map_index, try_number)
                self.batch.sadd(self.keys.worker_stop(worker_id), ident.encode())
        self.persister.write_step(self.batch, ctx, step, now)
        for transition in step.transitions:
            if transition.record is not None and transition.record.state is S.UP_FOR_RESCHEDULE:
                # The next poke is the same try: let a worker claim it again.
                key = transition.key
                self.batch.hdel(
                    self.keys.claims(ctx.dag_id, ctx.run_id), f"{key.task_id}|{key.map_index}"
                )
            if transition.old in _HELD and (
                transition.record is None or transition.record.state not in _HELD
            ):
                self.running_on.pop((ctx.ref, transition.key), None)
                self.unreported.pop((ctx.ref, transition.key), None)
                self.held[ctx.dag_id] -= 1
                spec = ctx.graph.tasks[transition.key.task_id]
                self.pool_held[spec.pool] -= spec.pool_slots
                self.touched_dags.update(self.waiting)
        self.ready.extend((ctx.ref, key) for key in step.ready)
        if step.next_due_s is not None:
            heapq.heappush(self.due, (step.next_due_s, ctx.ref))
        state = ctx.machine.run_state()
        if may_end and state is not DagRunState.RUNNING and ctx.state is DagRunState.RUNNING:
            self._end_run(ctx, state, now)

    def _end_run(self, ctx: RunContext, state: DagRunState, now: float) -> None:
        self.scheduler.unblock(ctx.dag_id)
        if state is DagRunState.FAILED and int(ctx.dag.get("max_consecutive_failed_dag_runs") or 0):
            self.failure_checks.add(ctx.dag_id)
        self.persister.write_run_state(self.batch, ctx, state, now)
        self.runs.pop(ctx.ref, None)
        self.touched_dags.add(ctx.dag_id)
        self.pending_starts.add(ctx.dag_id)

    def _drain_ready(self) -> None:
        """EmptyOperator instances finish here; the rest wait for a slot of their DAG."""
        now = time.time()
        while self.ready:
            ref, key = self.ready.popleft()
            ctx = self.runs.get(ref)
            if ctx is None or ctx.machine.tis.get(key, TIRecord()).state is not S.SCHEDULED:
                continue
            spec = ctx.graph.tasks[key.task_id]
            if spec.depends_on_past and (ref, key) not in self.past_ok:
                self.past_waiting[(ref, key)] = None  # checked against the previous run
                self.past_new = True
                continue
            self.past_ok.discard((ref, key))
            if spec.is_empty:
                record = ctx.machine.tis[key]
                ctx.machine.task_started(key, record.try_number)
                outcome = TaskOutcome(S.SUCCESS, record.try_number)
                self._after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)
                continue
            self.waiting.setdefault(ctx.dag_id, deque()).append((ref, key))
            self.touched_dags.add(ctx.dag_id)

    def _dispatch_touched(self) -> None:
        now = time.time()
        for dag_id in self.touched_dags:
            queue = self.waiting.get(dag_id)
            while queue:
                ref, key = queue[0]
                ctx = self.runs.get(ref)
                if ctx is None or ctx.machine.tis.get(key, TIRecord()).state is not S.SCHEDULED:
                    queue.popleft()
                    continue
                if self.held[dag_id] >= int(ctx.dag.get("max_active_tasks", 16)):
                    break
                spec = ctx.graph.tasks[key.task_id]
                if self.pool_held[spec.pool] + spec.pool_slots > self._pool_limit(spec.pool):
                    break  # waits for a slot of its pool, in the DAG's order
                queue.popleft()
                ctx.machine.task_queued(key)
                self.persister.enqueue(self.batch, ctx, key, spec.queue, now)
                self.held[dag_id] += 1
                self.pool_held[spec.pool] += spec.pool_slots
        self.touched_dags.clear()

    def _tick_due(self, now: float) -> None:
        while self.due and self.due[0][0] <= now:
            _, ref = heapq.heappop(self.due)
            ctx = self.runs.get(ref)
            if ctx is not None:
                self._after_step(ctx, ctx.machine.tick(now), now)

    # ---- periodic duties ------------------------------------------------------------------

    async def _periodic(self, now: float) -> None:
        ttl_ms = int(self.settings.lease_ttl_s * 1000)
        if not await self.scripts.renew(keys=[self.keys.lease], args=[self.coordinator_id, ttl_ms]):
            raise LeaseLost
        await self.client.set(self.keys.coordinator_beat, repr(now))
        # Entries delivered to us whose reply a dropped connection lost sit in our pending list
        # and a ">" read never returns them: every periodic pass reads them back (our own
        # list is empty once the acknowledgements of the last read are flushed).
        await self._flush()
        await self._consume({self.keys.completions: "0", self.keys.commands: "0"})
        await self._load_pools()
        self.touched_dags.update(self.waiting)
        for dag_id in list(self.pending_starts):
            self.pending_starts.discard(dag_id)
            await self._start_queued_runs(dag_id)
        self.advance_backfills = True
        self.scheduler.unblock()
        await self._pause_failing_dags()
        await self._reap_dead_workers(now)
        await self._reconcile_running(now)
        self._time_out_runs(now)
        await self.trimmer.maybe_trim(now, self.graphs)
        await self.retention.maybe_run(now)

    def _time_out_runs(self, now: float) -> None:
        for ctx in list(self.runs.values()):
            if ctx.deadline_s is None or now < ctx.deadline_s:
                continue
            for key, record in list(ctx.machine.tis.items()):
                if record.state not in (
                    S.SUCCESS,
                    S.FAILED,
                    S.SKIPPED,
                    S.UPSTREAM_FAILED,
                    S.REMOVED,
                ):
                    self.persister.write_step(
                        self.batch, ctx, ctx.machine.mark(key, S.SKIPPED, now), now
                    )
            self.persister.event(self.batch, RunTimeoutEvent(ctx.dag_id, ctx.run_id))
            self._end_run(ctx, DagRunState.FAILED, now)

    async def _reconcile_running(self, now: float) -> None:
        """Fail tries that a live worker no longer reports (a completion Redis lost).

        A try counts as lost once two fresh heartbeats in a row of its worker leave it out.
        """
        raw_workers = await typed.hgetall(self.client, self.keys.workers)
        workers: dict[str, WorkerBeat] = {}
        for worker_id, raw in raw_workers.items():
            beat = decoded_or_none(WorkerBeat.decode, raw, f"worker {worker_id} record", log)
            if beat is not None:
                workers[worker_id] = beat
        fresh = {
            worker_id
            for worker_id, beat in workers.items()
            if beat.heartbeat_at_s > self.last_beat.get(worker_id, 0.0)
        }
        self.last_beat = {w: beat.heartbeat_at_s for w, beat in workers.items()}
        reported: set[tuple[str, str, int]] = set()
        for worker_id in fresh:
            for ref in workers[worker_id].running:
                claim = decoded_or_none(ClaimRef.decode, ref, f"ref of worker {worker_id}", log)
                if claim is not None:
                    reported.add((claim.run, claim.ti, claim.try_number))
        for (run, key), (worker_id, try_number) in list(self.running_on.items()):
            if worker_id not in fresh:
                continue
            ctx = self.runs.get(run)
            started = ctx.meta[key].start_date if ctx is not None and key in ctx.meta else None
            if started is not None and self.last_beat[worker_id] <= started:
                continue  # a heartbeat sent before the try started cannot list it
            if (run, ti_field(key.task_id, key.map_index), try_number) in reported:
                self.unreported.pop((run, key), None)
                continue
            self.unreported[(run, key)] += 1
            if self.unreported[(run, key)] >= 2:
                del self.unreported[(run, key)]
                await self._fail_unreported(run, key, worker_id, try_number, now)

    async def _claims_of(self, worker_id: str) -> dict[str, ClaimRef | None]:
        """The worker's claimed tries by their encoded ref (None: malformed, logged)."""
        refs = await typed.smembers(self.client, self.keys.worker_tasks(worker_id))
        what = f"ref of worker {worker_id}"
        return {ref: decoded_or_none(ClaimRef.decode, ref, what, log) for ref in refs}

    async def _fail_unreported(
        self, run: str, key: TIKey, worker_id: str, try_number: int, now: float
    ) -> None:
        held = False
        for ref, claim in (await self._claims_of(worker_id)).items():
            if claim is None or claim.run != run or claim.try_number != try_number:
                continue
            if (claim.task_id, claim.map_index) == (key.task_id, key.map_index):
                held = True
                self.batch.xack(claim.stream, WORKER_GROUP, claim.message_id)
                self.batch.srem(self.keys.worker_tasks(worker_id), ref)
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
        ctx = self.runs.get(run)
        if ctx is not None:
            outcome = TaskOutcome(S.FAILED, try_number, error=f"worker {worker_id} lost this try")
            self._after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)

    async def _reap_dead_workers(self, now: float) -> None:
        cutoff = now - self.settings.worker_timeout_s
        dead = await typed.zrangebyscore(self.client, self.keys.worker_beats, "-inf", cutoff)
        for worker_id in dead:
            log.warning("worker %s stopped heartbeating; failing its tries", worker_id)
            for claim in (await self._claims_of(worker_id)).values():
                if claim is not None:
                    self._fail_lost_try(claim, worker_id, now)
            await self._requeue_undelivered(worker_id, now)
            self.batch.delete(self.keys.worker_tasks(worker_id))
            self.batch.delete(self.keys.worker_stop(worker_id))
            self.batch.hdel(self.keys.workers, worker_id)
            self.batch.zrem(self.keys.worker_beats, worker_id)

    def _fail_lost_try(self, claim: ClaimRef, worker_id: str, now: float) -> None:
        self.batch.xack(claim.stream, WORKER_GROUP, claim.message_id)
        ctx = self.runs.get(claim.run)
        if ctx is None:
            return
        outcome = TaskOutcome(
            S.FAILED,
            claim.try_number,
            retryable=True,
            error=f"worker {worker_id} stopped heartbeating",
        )
        key = TIKey(claim.task_id, claim.map_index)
        self._after_step(ctx, ctx.machine.task_finished(key, outcome, now), now)

    async def _requeue_undelivered(self, worker_id: str, now: float) -> None:
        """Messages the dead worker read but never claimed go back to the queue."""
        streams = {
            self.keys.queue(spec.queue)
            for ctx in self.runs.values()
            for spec in ctx.graph.tasks.values()
        }
        for stream in streams:
            try:
                pending = await typed.xpending_consumer(
                    self.client, stream, WORKER_GROUP, worker_id
                )
            except ResponseError:
                continue
            for message_id in pending:
                entries = await typed.xrange(self.client, stream, message_id, message_id)
                self.batch.xack(stream, WORKER_GROUP, message_id)
                if not entries:
                    continue
                message = decoded_or_none(
                    TaskMessage.from_fields, entries[0][1], "task message", log
                )
                if message is None:
                    continue
                ctx = self.runs.get(run_ref(message.dag_id, message.run_id))
                key = TIKey(message.task_id, message.map_index)
                if ctx is None:
                    continue
                record = ctx.machine.tis.get(key)
                if key.task_id not in ctx.graph.tasks:
                    continue
                if record and record.state is S.QUEUED and record.try_number == message.try_number:
                    self.persister.enqueue(
                        self.batch, ctx, key, ctx.graph.tasks[key.task_id].queue, now
                    )
            try:
                await self.client.xgroup_delconsumer(stream, WORKER_GROUP, worker_id)
            except ResponseError:
                pass


def _record_start(ctx: RunContext, key: TIKey, event: Completion) -> None:
    """When and where a try started, kept beside its record (its queue time stays)."""
    queued_at = ctx.meta[key].queued_at if key in ctx.meta else None
    ctx.meta[key] = TIMeta(queued_at, event.at_s, None, event.worker)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _tries_ending(events: list[Completion | Command | None]) -> set[tuple[str, str, int]]:
    """(run, instance, try) of every try whose end is among ``events``."""
    return {
        (event.run, event.ti, event.try_number)
        for event in events
        if isinstance(event, Completion) and event.kind is CompletionKind.FINISHED
    }


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
