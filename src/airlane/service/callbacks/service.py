"""The callbacks role (``airlane callbacks``): an arq worker delivering DAG callbacks, and the
loop that moves the jobs the coordinator records onto its queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from arq import func
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import ConnectionPool

from airlane.queue.connection import TRANSIENT_ERRORS, connect
from airlane.queue.keys import Keys
from airlane.queue.task_callback_jobs import decode_job
from airlane.service.callbacks.delivery import (
    DONE_KEPT_S,
    IN_PROGRESS_S,
    Delivery,
    DeliverySettings,
)
from airlane.service.callbacks.pending import DELIVER, enqueue_pending

log = logging.getLogger("airlane.callbacks")

#: how long arq keeps a finished job's result, and so refuses its id again
KEEP_RESULT_S = DONE_KEPT_S


async def _deliver(ctx: dict[str, Any], raw_job: str) -> str:
    delivery: Delivery = ctx["delivery"]
    return await delivery.deliver(decode_job(raw_job), int(ctx["job_try"]))


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def arq_client(redis_url: str, keys: Keys) -> ArqRedis:
    """arq's client, its jobs as JSON (not arq's default pickle: nothing in Redis runs code)."""
    return ArqRedis(
        ConnectionPool.from_url(redis_url),
        job_serializer=_dumps,
        job_deserializer=orjson.loads,
        default_queue_name=keys.callbacks_queue,
    )


class CallbacksService:
    def __init__(self, settings: DeliverySettings, keys: Keys, poll_s: float = 0.5) -> None:
        self.settings = settings
        self.keys = keys
        self.poll_s = poll_s

    def _worker(self, arq: ArqRedis, delivery: Delivery) -> Worker:
        # the child is killed at timeout_s; reading the run before takes a moment
        job_timeout_s = self.settings.timeout_s + 10
        worker = Worker(
            functions=[func(_deliver, name=DELIVER, timeout=job_timeout_s)],
            queue_name=self.keys.callbacks_queue,
            redis_pool=arq,
            handle_signals=False,
            poll_delay=self.poll_s,
            keep_result=KEEP_RESULT_S,
            # one more than ours: a last try cut short is reported failed by `deliver`
            max_tries=self.settings.max_tries + 1,
            ctx={"delivery": delivery},
            job_serializer=_dumps,
            job_deserializer=orjson.loads,
        )
        # a short in-progress mark, renewed while the job runs (delivery.IN_PROGRESS_S)
        worker.in_progress_timeout_s = IN_PROGRESS_S
        return worker

    async def run(self, stop: asyncio.Event) -> None:
        arq = arq_client(self.settings.redis_url, self.keys)
        client = connect(self.settings.redis_url, client_name="airlane-callbacks")
        worker = self._worker(arq, Delivery(self.settings, client, self.keys))
        main = asyncio.create_task(worker.async_run())
        log.info("callbacks: delivering DAG callbacks from %s", self.keys.callbacks_queue)
        try:
            while not stop.is_set() and not main.done():
                try:
                    await enqueue_pending(arq, self.keys)
                except TRANSIENT_ERRORS as err:
                    log.warning("callbacks: Redis unavailable (%s); retrying", err)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            await worker.close()
            with contextlib.suppress(asyncio.CancelledError):
                await main
            await client.aclose()
