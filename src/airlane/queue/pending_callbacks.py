"""Bounding ``callbacks:pending``: the DAG callback jobs recorded at runs' ends wait there until
a callbacks role takes them. Without such a role (standalone without its virtualenv) nothing
takes them: a job older than PENDING_MAX_AGE_S is dropped with a log line (by the coordinator's
housekeeping, and by a role that finds one), and a hash past PENDING_WARN_COUNT entries is
reported. A run deleted (or removed by retention) takes its entries with it (store.py,
service/retention.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.queue.protocol import MalformedRecord
from airlane.queue.task_callback_jobs import CallbackJob, decode_job

log = logging.getLogger("airlane.callbacks")

#: a DAG callback not delivered within a week is not delivered (as long as arq keeps a result)
PENDING_MAX_AGE_S = 7 * 24 * 3600.0
#: more waiting jobs than this: no callbacks role is likely taking them
PENDING_WARN_COUNT = 1000
_SCAN_COUNT = 500


def is_stale(job: CallbackJob, now_s: float, max_age_s: float = PENDING_MAX_AGE_S) -> bool:
    return job.ended_at_s < now_s - max_age_s


@dataclass(frozen=True, slots=True)
class PendingPrune:
    #: entries still waiting after the pass
    waiting: int
    #: entries dropped: too old, or unreadable
    dropped: int


async def prune_pending(
    client: aioredis.Redis, keys: Keys, now_s: float, max_age_s: float = PENDING_MAX_AGE_S
) -> PendingPrune:
    """Drop the stale and malformed entries of ``callbacks:pending`` (a decoding client)."""
    waiting = dropped = 0
    async for job_id, raw in client.hscan_iter(keys.callbacks_pending, count=_SCAN_COUNT):
        try:
            job = decode_job(raw)
        except MalformedRecord as err:
            log.error("dropping a pending DAG callback job: %s", err)
        else:
            if not is_stale(job, now_s, max_age_s):
                waiting += 1
                continue
            log.warning(
                "dropping DAG callback %s: no callbacks role took it within %.0f days",
                job_id,
                max_age_s / 86400,
            )
        dropped += await client.hdel(keys.callbacks_pending, job_id)
    if waiting > PENDING_WARN_COUNT:
        log.warning(
            "%s DAG callback jobs wait in %s: is a callbacks role (`airlane callbacks`) running?",
            waiting,
            keys.callbacks_pending,
        )
    return PendingPrune(waiting, dropped)
