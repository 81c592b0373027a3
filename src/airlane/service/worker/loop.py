"""The worker: claims task messages from its queues, runs them, reports, heartbeats.

A message becomes a try only through the ``claim`` script (fencing: a stale or duplicated
message does nothing); a try ends through the ``finish`` script (XComs, acknowledgement and
the completion event in one step), which, with the fast path, may also claim the successor it
queues for this worker, which starts it at once (Airflow's mini scheduler, ``_run_here``).
On SIGTERM running tries get ``grace_s`` to finish; the rest are stopped and handed back to be
run again without using up a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import redis
import redis.asyncio as aioredis

from airlane.engine.run_state import TaskOutcome
from airlane.queue.coalesce import Answer, Coalescer
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.groups import ensure_group
from airlane.queue.keys import WORKER_GROUP, Keys
from airlane.queue.messages import STREAM_MAXLEN, TaskMessage
from airlane.queue.protocol import ClaimRef, StopIdent, TryReleased
from airlane.queue.scripts import Delivery, HandBack, Scripts
from airlane.queue.scripts.finish import REPLAYED
from airlane.queue.store import Store
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.task_stores import TaskStores
from airlane.service.run_launcher import RedisRunLauncher
from airlane.service.worker.cpu_share import CpuShare
from airlane.service.worker.dag_cache import DagCache
from airlane.service.worker.finish_here import here, try_header
from airlane.service.worker.heartbeat import Heartbeat, WorkerIdentity
from airlane.service.worker.inline_try import InlineRunner
from airlane.service.worker.isolated_try import (
    FinishedHere,
    IsolatedResult,
    TryLimits,
    TrySink,
    run_isolated,
)
from airlane.service.worker.lean_calls import LeanCalls
from airlane.service.worker.log_writer import TaskLogWriter, stamped
from airlane.service.worker.record import WorkerRecord
from airlane.service.worker.run_conf import run_conf, with_asset_events
from airlane.service.worker.settings import TaskIsolation, WorkerSettings
from airlane.service.worker.task_pool import TaskPool
from airlane.service.worker.task_process import (
    TaskProcessConfig,
    request_with_run,
    run_info_to_wire,
)
from airlane.service.worker.tries import (
    FinishedTry,
    RunningTry,
    RunWires,
    claim_call,
    finish_call,
    read_message,
    run_info,
)

log = logging.getLogger("airlane.worker")

#: A message delivered to us and idle this long in our pending list without running is one
#: whose delivery reply was lost (a delivery on its way is not idle).
ORPHAN_IDLE_MS = 3000
#: finish calls out at once: a try that ends while one is out goes in the next at once rather
#: than a round trip later (an edge's lag under load); batching still groups what ends together
FINISH_CALLS_IN_FLIGHT = 4
#: the longest log (bytes) with which a task process finishes a try itself (``here``)
WHOLE_LOG_MAX_BYTES = 256 * 1024


class Worker:
    def __init__(self, settings: WorkerSettings, client: aioredis.Redis, keys: Keys) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.scripts = Scripts.register(client, keys)
        self.calls = LeanCalls(client, self.scripts)
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.sync_client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        self.running: dict[asyncio.Task[None], RunningTry] = {}
        #: (stream, message id) of every message in ``running``
        self._started: set[tuple[str, str]] = set()
        #: (stream, message id) of the messages that cannot be read: logged once, never run
        self._malformed: set[tuple[str, str]] = set()
        #: what ``_consume`` waits on while every slot is taken (``_slot_freed``)
        self._slot_waiter: asyncio.Future[None] | None = None
        #: set once draining begins: no try starts after that
        self._stopping = False
        self.streams = {keys.queue(q): ">" for q in settings.queues}
        #: per try: None (not ours), else its resume JSON ("" for a try that starts)
        #: (sheltered: a try cancelled meanwhile still reads its claim's or finish's answer)
        self.claims: Coalescer[RunningTry, str | None] = Coalescer(self._claim_many, sheltered=True)
        self.finishes: Coalescer[FinishedTry, None] = Coalescer(
            self._finish_many, max_in_flight=FINISH_CALLS_IN_FLIGHT, sheltered=True
        )
        share = CpuShare.of_this_process()
        self.pool = (
            TaskPool(
                self._process_config(),
                settings.concurrency,
                settings.task_process_idle_s,
                share,
            )
            if settings.task_isolation is TaskIsolation.PROCESS
            else None
        )
        self.inline = InlineRunner(
            DagCache(settings.dags_folder),
            self.sync_client,
            keys,
            RedisRunLauncher(Store(client, keys)),
            settings.xcom_max_bytes,
            TaskStores.build(self.sync_client, keys, settings.redis_url),
        )
        self.run_wires = RunWires()
        self.limits = TryLimits(import_timeout_s=settings.task_import_timeout_s)
        who = WorkerIdentity(self.worker_id, settings.queues, settings.concurrency)
        self.heartbeat = Heartbeat(settings.redis_url, keys, who, settings.heartbeat_s, share)
        self.record = WorkerRecord(client, keys, self.worker_id, self.streams)

    def _process_config(self) -> TaskProcessConfig:
        return TaskProcessConfig(
            redis_url=self.settings.redis_url,
            key_prefix=self.keys.prefix,
            dags_folder=self.settings.dags_folder,
            xcom_max_bytes=self.settings.xcom_max_bytes,
            memory_limit_mb=self.settings.task_memory_limit_mb,
            worker_pid=os.getpid(),
            max_line_bytes=self.settings.log_limits.max_line_bytes,
            batch_scheduling=self.settings.batch_scheduling,
            worker_id=self.worker_id,
            log_retention_s=self.settings.log_retention_s,
            whole_log_max_bytes=min(WHOLE_LOG_MAX_BYTES, self.settings.log_limits.head_bytes),
        )

    # ---- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=max(4, self.settings.concurrency + 2))
        )
        for stream in self.streams:
            await ensure_group(self.client, stream, WORKER_GROUP)
        await asyncio.to_thread(self.heartbeat.beat)
        self.heartbeat.start()
        if self.pool is not None:
            self.pool.prestart()
        closing = asyncio.Event()
        housekeeping = asyncio.create_task(self._housekeeping_loop(closing))
        try:
            await self._consume(stop)
            await self._drain()
        finally:
            # Stopped by an event, never cancelled: redis-py often completes a command whose
            # task was cancelled and loses the cancellation, and a cancelled housekeeping loop
            # then ran on for ever (the worker never exited).
            closing.set()
            await self._ended_housekeeping(housekeeping)
            if self.pool is not None:
                await self.pool.close()
            await asyncio.to_thread(self.heartbeat.stop)
            await self.record.deregister()
            self.sync_client.close()

    @staticmethod
    async def _ended_housekeeping(housekeeping: asyncio.Task[None]) -> None:
        """Wait for housekeeping to end; what it died of is logged and the shutdown goes on."""
        try:
            await housekeeping
        except Exception:
            log.exception("worker housekeeping failed")

    async def _consume(self, stop: asyncio.Event) -> None:
        slots = self.settings.concurrency
        while not stop.is_set():
            free = slots - len(self.running)
            if free <= 0:
                await self._slot_freed(timeout_s=0.5)
                continue
            try:
                response = await self.calls.read_group(
                    WORKER_GROUP, self.worker_id, self.streams, free, self.settings.read_block_ms
                )
            except TRANSIENT_ERRORS:
                await asyncio.sleep(0.2)
                continue
            for stream, entries in response or []:
                for message_id, fields in entries:
                    self._start(stream, message_id, fields)

    async def _slot_freed(self, timeout_s: float) -> None:
        """Until a running try ends and leaves a slot free, or ``timeout_s`` has passed.

        One future woken by ``_ended``, not a wait on every running try: that registered and
        removed a callback on each of them (64) each time one ended."""
        waiter = asyncio.get_running_loop().create_future()
        self._slot_waiter = waiter
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._slot_waiter = None

    def _start(
        self,
        stream: str,
        message_id: str,
        fields: dict[str, str],
        claimed_ref: str = "",
        held: str = "",
        running: str = "",
    ) -> None:
        """Run the try of a message read for us; ``claimed_ref``: claimed for us already (by
        its upstream's finish script, RUN_HERE), under this encoded ClaimRef; ``held``: the
        ref its upstream's task process is held under for it; ``running``: that process runs
        it already (its stamped first log line)."""
        if (stream, message_id) in self._started or (stream, message_id) in self._malformed:
            self._not_started(held, running)
            return  # read again from our pending list while its first delivery runs
        if self._stopping:
            # Stays in our pending list: deregistering then ages our heartbeat, and the
            # coordinator recovers it at once. (Started now, the try would outlive the drain:
            # nothing would wait for it, and the event loop's shutdown could hang on it.)
            self._not_started(held, running)
            return
        try:
            message, raw = read_message(fields)
        except (KeyError, TypeError, ValueError):  # MalformedRecord, bad JSON, missing fields
            log.exception("skipping malformed task message %s on %s", message_id, stream)
            self._malformed.add((stream, message_id))
            self._not_started(held, running)
            return
        ref = (
            claimed_ref
            or ClaimRef(
                stream,
                message_id,
                message.dag_id,
                message.run_id,
                message.task_id,
                message.map_index,
                message.try_number,
            ).encode()
        )
        item = RunningTry(
            stream,
            message_id,
            message,
            ref,
            claimed=bool(claimed_ref),
            held=held,
            raw=raw,
            running=running,
        )
        task = asyncio.create_task(self._handle_logged(item))
        self.running[task] = item
        self._started.add((stream, message_id))
        self.heartbeat.running[ref] = None
        task.add_done_callback(self._ended)

    def _not_started(self, held: str, running: str) -> None:
        """The process held under ``held`` is not used for a try we do not start here: back to
        the pool, or killed when it runs that try already (``running``)."""
        if running and self.pool is not None:
            self.pool.discard_held(held)
        else:
            self._unhold(held)

    def _ended(self, task: asyncio.Task[None]) -> None:
        item = self.running.pop(task)
        waiter = self._slot_waiter
        if (
            waiter is not None
            and not waiter.done()
            and len(self.running) < self.settings.concurrency
        ):
            waiter.set_result(None)
        self._started.discard((item.stream, item.message_id))
        self.heartbeat.running.pop(item.ref, None)

    async def _drain(self) -> None:
        """On shutdown: let running tries finish within the grace period, hand back the rest.

        Housekeeping keeps running meanwhile (a try cleared during the grace period is still
        stopped), but its recovery of undelivered messages starts nothing any more: it used to
        start a try whose message it had re-claimed just before that try handed itself back,
        after the drain had taken its list of tries to wait for.
        """
        self._stopping = True
        if not self.running:
            return
        tasks = list(self.running)
        _, pending = await asyncio.wait(tasks, timeout=self.settings.grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.finishes.wait_idle()

    # ---- one try --------------------------------------------------------------------------

    async def _handle_logged(self, item: RunningTry) -> None:
        try:
            await self._handle(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "message %s could not be handled; the coordinator will recover it", item.ref
            )

    async def _handle(self, item: RunningTry) -> None:
        msg = item.message
        # (a try its upstream's finish claimed for us starts, it does not resume)
        claimed = "" if item.claimed else await self._claim(item)
        if claimed is None:
            await self._retrying(self.client.xack, item.stream, WORKER_GROUP, item.message_id)
            return
        item.resume = claimed
        log_key = self.keys.log(msg.dag_id, msg.run_id, msg.task_id, msg.map_index, msg.try_number)
        logs = TaskLogWriter(
            self.client,
            log_key,
            self.settings.log_retention_s,
            self.settings.log_limits,
            self.calls,
        )
        try:
            result = await self._run_try(item, logs)
        except asyncio.CancelledError:
            await logs.close(attempts=4)
            await self._hand_back(item)
            raise
        except Exception as err:  # a bug of ours must not lose the try: report it as failed
            log.exception("try %s failed inside the worker", item.ref)
            outcome = TaskOutcome(
                TaskInstanceState.FAILED, msg.try_number, error=f"worker error: {err!r}"
            )
            result = IsolatedResult(outcome, [], "")
        if result.lost and item.here and not await self._pending(item):
            result = IsolatedResult(result.outcome, [], "", finished=FinishedHere(REPLAYED))
        if result.finished is not None:
            await self._finished_here(item, logs, result.finished)
            return
        report = self._report(item, logs, result)
        try:
            # (a finish's Answer is sheltered already: see Coalescer)
            await (report if isinstance(report, Answer) else asyncio.shield(report))
        except asyncio.CancelledError:
            await report  # the try ended: its outcome is reported whatever stops us now
            raise

    async def _pending(self, item: RunningTry) -> bool:
        """Whether the try's message is still in our pending list (not acknowledged: its task
        process, ended under it, did not finish it)."""
        found = await self._retrying(
            self.client.xpending_range,
            item.stream,
            WORKER_GROUP,
            min=item.message_id,
            max=item.message_id,
            count=1,
        )
        return bool(found)

    async def _finished_here(
        self, item: RunningTry, logs: TaskLogWriter, finished: FinishedHere
    ) -> None:
        """The task process finished the try itself, its whole log with it: nothing to report.
        The successor its finish claimed for us runs there already; an older message it read
        for us is claimed and started as usual; after a replay (or a process that ended
        after finishing) what the finish read waits in our pending list."""
        logs.stop()  # (its lines are written: the guard drops a flush under way)
        successor = finished.successor
        if successor is not None and successor.claimed and finished.header:
            if not self._stopping:
                self._start(
                    successor.stream,
                    successor.message_id,
                    successor.fields,
                    successor.ref,
                    held=item.ref,
                    running=finished.header,
                )
                return
            if self.pool is not None:
                self.pool.discard_held(item.ref)  # stopping: the successor goes back unused
            message = TaskMessage.from_fields(successor.fields)
            claimed = RunningTry(successor.stream, successor.message_id, message, successor.ref)
            await self._retrying(self._hand_back, claimed)
            return
        self._unhold(item.ref)
        if successor is None:
            return
        if successor.replayed:
            if not self._stopping:
                with contextlib.suppress(*TRANSIENT_ERRORS):
                    await self._recover_undelivered(min_idle_ms=0)
            return
        await self._run_here(successor)

    async def _claim(self, item: RunningTry) -> str | None:
        """None when the try is not ours, else how it resumes ("" for a try that starts)."""
        claim = self.claims.submit(item)  # (sheltered: see Coalescer)
        try:
            return await claim
        except asyncio.CancelledError:
            # Stopping: a try claimed meanwhile goes back, the rest stay in the queue's group.
            if await claim is not None:
                await self._hand_back(item)
            raise

    def _report(
        self, item: RunningTry, logs: TaskLogWriter, result: IsolatedResult
    ) -> asyncio.Future[None]:
        """Submit the try's finish (with the log lines not sent yet), once its log's last
        background flush, if one is under way, is done."""
        flushing = logs.stop()
        if flushing is None:
            return self._submit_finish(item, logs, result)
        return asyncio.ensure_future(self._report_after(flushing, item, logs, result))

    async def _report_after(
        self,
        flushing: asyncio.Future[None],
        item: RunningTry,
        logs: TaskLogWriter,
        result: IsolatedResult,
    ) -> None:
        await flushing
        await self._submit_finish(item, logs, result)

    def _submit_finish(
        self, item: RunningTry, logs: TaskLogWriter, result: IsolatedResult
    ) -> asyncio.Future[None]:
        lines, set_expiry = logs.take()
        done = FinishedTry(
            item, result.outcome, result.xcom_pairs, lines, set_expiry, result.rendered, time.time()
        )
        return self.finishes.submit(done)

    async def _claim_many(self, items: list[RunningTry]) -> list[str | None]:
        call = claim_call(self.worker_id, items, time.time())
        return cast(list[str | None], await self._retrying(self.calls.claim_resuming, call))

    async def _finish_many(self, finished: list[FinishedTry]) -> list[None]:
        settings = self.settings
        # each finished try leaves its slot to the successor its finish may claim for us
        call = finish_call(
            self.worker_id,
            finished,
            settings.log_retention_s,
            settings.fast_path,
            run_here=not self._stopping,
        )
        try:
            answers = await self._retrying(self.calls.finish_many, call)
        except BaseException:
            for done in finished:
                self._unhold(done.item.ref)
            raise
        replayed = False
        for done, delivery in zip(finished, cast(list[Delivery | None], answers), strict=True):
            if delivery is not None and delivery.replayed:
                replayed = True
                self._unhold(done.item.ref)
            elif delivery is not None:
                await self._run_here(delivery, held=done.item.ref)
            else:
                self._unhold(done.item.ref)
        if replayed and not self._stopping:
            # a message the lost answer carried waits in our pending list: start it now, not
            # once it has been idle for the periodic look (the coordinator would take it for lost)
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await self._recover_undelivered(min_idle_ms=0)
        return [None] * len(finished)

    def _unhold(self, token: str) -> None:
        """The task process held under ``token`` for a successor is not needed for one."""
        if token and self.pool is not None:
            self.pool.unhold(token)

    async def _run_here(self, delivery: Delivery, held: str = "") -> None:
        """Start a message our finish read for us (Airflow's mini scheduler): the successor it
        claimed for us, without a claim of ours, on the task process of its upstream
        (``held``), or an older message, claimed as usual.

        Stopping meanwhile, a claimed one goes back (its try is not used up); one not claimed
        stays in our pending list, which the coordinator puts back on its queue once we leave
        (recovery.py: we age our heartbeat when leaving work behind)."""
        if not self._stopping and delivery.claimed:
            self._start(delivery.stream, delivery.message_id, delivery.fields, delivery.ref, held)
            return
        self._unhold(held)
        if not self._stopping:
            self._start(delivery.stream, delivery.message_id, delivery.fields)
            return
        if not delivery.claimed:
            return
        try:
            message = TaskMessage.from_fields(delivery.fields)
            item = RunningTry(delivery.stream, delivery.message_id, message, delivery.ref)
            await self._retrying(self._hand_back, item)
        except Exception:  # left claimed: recovery fails it (retryable) once we are gone
            log.exception("could not hand back %s", delivery.ref)

    async def _run_try(self, item: RunningTry, logs: TaskLogWriter) -> IsolatedResult:
        """A successor claimed for us by its upstream's finish goes before the tries waiting
        for a task process, on its upstream's (held); a success's process is kept for the
        successor its finish may claim for us (see ``run_isolated``). A task process may
        finish a success itself (``here``) while we are not stopping, or when it runs the
        try already (its upstream's finish there claimed it)."""
        msg, resume = item.message, item.resume
        header = try_header(msg, self.worker_id, resumed=bool(resume))
        if self.pool is None:
            logs.write(header)
            info = await self._run_info(msg)
            logs.start()
            return await self.inline.run(msg, info, logs, resume)
        request = request_with_run(msg, await self._run_wire(msg), resume)
        fast = self.settings.fast_path
        if item.running:
            logs.write_stamped(item.running)
        elif fast and not self._stopping and msg.map_index < 0 and not resume:
            line = stamped(header)
            logs.write_stamped(line)
            raw = item.raw or msg.to_fields()["m"]
            request["here"] = here(item.stream, item.message_id, item.ref, raw, line)
        else:
            logs.write(header)
        if item.running or "here" in request:
            item.here = True
            logs.guard = (self.keys.worker_tasks(self.worker_id), item.ref)
        sink = TrySink(logs.write, logs.waiting, logs.start)
        return await run_isolated(
            self.pool,
            request,
            sink,
            self.limits,
            first=item.claimed,
            held=item.held,
            hold_for=item.ref if fast else "",
            sent=bool(item.running),
        )

    async def _run_wire(self, msg: TaskMessage) -> dict[str, Any]:
        """The run as a try's request sends it (kept per run: ``RunWires``)."""
        wire = self.run_wires.get(msg)
        if wire is None:
            wire = run_info_to_wire(await self._run_info(msg))
            self.run_wires.keep(msg, wire)
        return wire

    async def _run_info(self, msg: TaskMessage) -> RunInfo:
        """The run a try belongs to, as the task sees it (its dates, conf and type)."""
        info = run_info(msg, await run_conf(self.client, self.keys, msg))
        return await with_asset_events(self.client, self.keys, msg, info)

    async def _hand_back(self, item: RunningTry) -> None:
        msg = item.message
        released = TryReleased.of(
            msg.dag_id, msg.run_id, msg.task_id, msg.map_index, msg.try_number
        ).to_fields()
        call = HandBack(
            self.worker_id,
            item.stream,
            WORKER_GROUP,
            item.message_id,
            item.ref,
            released,
            STREAM_MAXLEN,
        )
        await self.scripts.hand_back(call)

    async def _retrying(self, func: object, *args: object, **kwargs: object) -> object:
        """Call a Redis operation, waiting out a Redis restart (up to about a minute)."""
        delay = 0.05
        for _ in range(200):
            try:
                return await func(*args, **kwargs)  # type: ignore[operator]
            except TRANSIENT_ERRORS:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        return await func(*args, **kwargs)  # type: ignore[operator]

    # ---- registry -------------------------------------------------------------------------

    async def _housekeeping_loop(self, closing: asyncio.Event) -> None:
        while not closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), self.settings.heartbeat_s)
            if closing.is_set():
                return
            if self.pool is not None:
                self.pool.retire_idle()
            try:
                await self._stop_cleared()
                await self._recover_undelivered()
            except TRANSIENT_ERRORS:
                continue
            except Exception:  # one bad round (a malformed record...): the next one may do
                log.exception("worker housekeeping round failed")

    async def _recover_undelivered(self, min_idle_ms: int = ORPHAN_IDLE_MS) -> None:
        """Start the messages Redis delivered to us whose reply a dropped connection lost
        (WorkerRecord.undelivered: only those idle a while; the claim fences any that ran)."""
        for stream, message_id, fields in await self.record.undelivered(min_idle_ms):
            self._start(stream, message_id, fields)

    async def _stop_cleared(self) -> None:
        """Stop the tries the coordinator says were cleared while they ran."""
        wanted = await self.record.stops_asked()
        if not wanted:
            return
        done: set[str] = set()
        for task, item in list(self.running.items()):
            msg = item.message
            ident = StopIdent(
                msg.dag_id, msg.run_id, msg.task_id, msg.map_index, msg.try_number
            ).encode()
            if ident in wanted:
                log.info("stopping %s: it was cleared while running", ident)
                task.cancel()
                done.add(ident)
        # a try claimed for us that has not started here yet (its message waits in our
        # pending list) keeps its stop for a later round; the rest are stale
        waiting = await self.record.claimed_idents()
        done |= {ident for ident in wanted if ident not in waiting}
        await self.record.stops_done(done)
