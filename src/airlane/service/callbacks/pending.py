"""Moving the callback jobs the coordinator recorded (``callbacks:pending``: a run's DAG
callback, a dead try's task callback) onto arq's queue, each under its own job id: enqueueing
an id arq already holds (or holds a result for) does nothing, so a role killed between
enqueueing and forgetting an entry enqueues nothing twice. An entry older than
PENDING_MAX_AGE_S is dropped, not run (queue/pending_callbacks.py)."""

from __future__ import annotations

import logging
import time

from arq.connections import ArqRedis

from airlane.queue.keys import Keys
from airlane.queue.pending_callbacks import PENDING_MAX_AGE_S, is_stale
from airlane.queue.protocol import MalformedRecord
from airlane.queue.task_callback_jobs import CallbackJob, decode_job

log = logging.getLogger("airlane.callbacks")

DELIVER = "deliver_dag_callback"


async def enqueue_pending(arq: ArqRedis, keys: Keys) -> int:
    """Enqueue every pending job; how many were new on arq's queue."""
    pending: dict[bytes, bytes] = await arq.hgetall(keys.callbacks_pending)
    now_s = time.time()
    added = 0
    for raw_id, raw_job in pending.items():
        job_id = raw_id.decode()
        job: CallbackJob | None
        try:
            job = decode_job(raw_job)
        except MalformedRecord as err:
            log.error("dropping a pending callback job: %s", err)
            job = None
        if job is not None and is_stale(job, now_s):
            log.warning("dropping callback %s: it waited over %.0fs", job_id, PENDING_MAX_AGE_S)
        elif job is not None:
            queued = await arq.enqueue_job(
                DELIVER, job.encode(), _job_id=job.job_id, _queue_name=keys.callbacks_queue
            )
            added += queued is not None
        await arq.hdel(keys.callbacks_pending, job_id)
    return added
