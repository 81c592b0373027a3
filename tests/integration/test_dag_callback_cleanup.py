"""``callbacks:pending`` stays bounded: a run deleted (by the API or by retention) takes its
DAG callback jobs and done markers with it, and its deadlines not reported yet; a job no
callbacks role took in time is dropped."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from airlane.engine.deadlines import entry
from airlane.queue.callback_jobs import (
    RUN_GENERATION,
    CallbackKind,
    CallbackReason,
    DagCallbackJob,
    job_id_of,
)
from airlane.queue.keys import Keys
from airlane.queue.pending_callbacks import PENDING_MAX_AGE_S, prune_pending
from airlane.queue.store import RunRequest, Store
from airlane.service.retention import CleanRequest, clean_runs
from tests.integration.cluster import RedisServer

pytestmark = pytest.mark.redis

KEYS = Keys()
DAG = "etl"
WHEN = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    await found.hset(KEYS.dags, DAG, "content-hash")
    yield found
    await found.aclose()


async def _finished_run_with_jobs(client: aioredis.Redis, run_id: str) -> list[str]:
    """A failed run reopened once, with a pending job and done markers of both generations."""
    await Store(client, KEYS).create_run(RunRequest(DAG, run_id, WHEN, WHEN, WHEN, {}))
    await client.hset(
        KEYS.run(DAG, run_id),
        mapping={"state": "failed", "start_date": "1.0", RUN_GENERATION: "1"},
    )
    ids = [job_id_of(DAG, run_id, CallbackKind.FAILURE, g) for g in (0, 1)]
    job = DagCallbackJob(DAG, run_id, CallbackKind.FAILURE, CallbackReason.TASK_FAILURE, 1.0, 1)
    await client.hset(KEYS.callbacks_pending, ids[1], job.encode())
    for job_id in ids:
        await client.sadd(KEYS.callbacks_done(job_id), "0")
    return ids


async def _left(client: aioredis.Redis, ids: list[str]) -> list[str]:
    pending = set(await client.hkeys(KEYS.callbacks_pending))
    done = [i for i in ids if await client.exists(KEYS.callbacks_done(i))]
    return sorted(pending & set(ids)) + done


async def test_a_deleted_run_takes_its_callback_jobs_along(client: aioredis.Redis) -> None:
    gone = await _finished_run_with_jobs(client, "r1")
    kept = await _finished_run_with_jobs(client, "r2")
    await Store(client, KEYS).delete_run(DAG, "r1")
    assert await _left(client, gone) == []
    assert len(await _left(client, kept)) == 3


async def test_retention_takes_a_runs_callback_jobs_along(client: aioredis.Redis) -> None:
    gone = await _finished_run_with_jobs(client, "r1")
    removed = await clean_runs(client, KEYS, CleanRequest(before_s=time.time()))
    assert removed == [f"{DAG}|r1"]
    assert await _left(client, gone) == []


async def test_jobs_no_role_took_in_time_are_dropped(client: aioredis.Redis) -> None:
    now_s = time.time()
    fresh = DagCallbackJob("d", "new", CallbackKind.SUCCESS, CallbackReason.SUCCESS, now_s, 0)
    stale_at_s = now_s - PENDING_MAX_AGE_S - 1
    stale = DagCallbackJob("d", "old", CallbackKind.SUCCESS, CallbackReason.SUCCESS, stale_at_s, 0)
    for job in (fresh, stale):
        await client.hset(KEYS.callbacks_pending, job.job_id, job.encode())
    await client.hset(KEYS.callbacks_pending, "junk", "{")
    outcome = await prune_pending(client, KEYS, now_s)
    assert (outcome.waiting, outcome.dropped) == (1, 2)
    assert await client.hkeys(KEYS.callbacks_pending) == [fresh.job_id]


async def _failed_run_with_deadlines(client: aioredis.Redis, run_id: str) -> list[str]:
    """A failed run whose two deadlines have not passed yet (they would still be reported)."""
    await Store(client, KEYS).create_run(RunRequest(DAG, run_id, WHEN, WHEN, WHEN, {}))
    later_s = time.time() + 3600
    fields = {"state": "failed", "start_date": "1.0", "deadline:0": repr(later_s)}
    await client.hset(KEYS.run(DAG, run_id), mapping={**fields, "deadline:1": repr(later_s)})
    entries = [entry(DAG, run_id, i) for i in (0, 1)]
    await client.zadd(KEYS.deadlines, dict.fromkeys(entries, later_s))
    return entries


async def test_a_deleted_run_takes_its_deadlines_along(client: aioredis.Redis) -> None:
    gone = await _failed_run_with_deadlines(client, "r1")
    kept = await _failed_run_with_deadlines(client, "r2")
    await Store(client, KEYS).delete_run(DAG, "r1")
    assert sorted(await client.zrange(KEYS.deadlines, 0, -1)) == sorted(kept)
    removed = await clean_runs(client, KEYS, CleanRequest(before_s=time.time()))
    assert removed == [f"{DAG}|r2"]
    assert await client.zcard(KEYS.deadlines) == 0
    assert gone != kept
