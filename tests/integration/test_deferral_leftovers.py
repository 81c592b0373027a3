"""A removed run (deleted through the API or past the retention) takes its deferral entries:
its instances' ``deferred`` entries and trigger timeouts and its tries' ``resumes`` entries,
which live in shared hashes; another run's stay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta, encode_ti
from airlane.queue.keys import Keys, deferred_field, resume_field, ti_field
from airlane.queue.store import Store
from airlane.sdk.state import TaskInstanceState
from airlane.service.retention import CleanRequest, clean_runs
from tests.integration.cluster import RedisServer

KEYS = Keys()
DAG, TASK = "d", "t"


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    await found.hset(KEYS.dags, DAG, "content-hash")
    yield found
    await found.aclose()


async def _finished_run_with_deferrals(client: aioredis.Redis, run_id: str) -> None:
    """A finished run whose instance's try 2 left a deferred entry, a timeout and resumes."""
    fields = {"state": "success", "start_date": "1.0", "run_type": "manual"}
    await client.hset(KEYS.run(DAG, run_id), mapping=fields)
    await client.zadd(KEYS.runs_of(DAG), {run_id: 1.0})
    record = TIRecord(TaskInstanceState.SUCCESS, try_number=2, max_tries=2)
    await client.hset(KEYS.tis(DAG, run_id), ti_field(TASK, -1), encode_ti(record, TIMeta()))
    field = deferred_field(DAG, run_id, TASK, -1)
    await client.hset(KEYS.deferred, field, '{"t": "k", "try": "2"}')
    await client.zadd(KEYS.trigger_timeouts, {field: 50.0})
    for try_number in (1, 2):
        resume = resume_field(DAG, run_id, TASK, -1, try_number)
        await client.hset(KEYS.resumes, resume, '{"m": "done"}')


async def _left(client: aioredis.Redis) -> tuple[set[str], set[str], set[str]]:
    return (
        set(await client.hkeys(KEYS.deferred)),
        set(await client.zrange(KEYS.trigger_timeouts, 0, -1)),
        set(await client.hkeys(KEYS.resumes)),
    )


def _only(run_id: str) -> tuple[set[str], set[str], set[str]]:
    field = deferred_field(DAG, run_id, TASK, -1)
    return {field}, {field}, {f"{field}|1", f"{field}|2"}


async def test_a_deleted_run_takes_its_deferral_entries(client: aioredis.Redis) -> None:
    await _finished_run_with_deferrals(client, "gone")
    await _finished_run_with_deferrals(client, "kept")
    await Store(client, KEYS).delete_run(DAG, "gone")
    assert await _left(client) == _only("kept")


async def test_a_run_past_the_retention_takes_its_deferral_entries(
    client: aioredis.Redis,
) -> None:
    await _finished_run_with_deferrals(client, "gone")
    await _finished_run_with_deferrals(client, "kept")
    await client.hset(KEYS.run(DAG, "kept"), "start_date", "100.0")
    request = CleanRequest(before_s=10.0, dag_ids=frozenset({DAG}))
    assert await clean_runs(client, KEYS, request) == [f"{DAG}|gone"]
    assert await _left(client) == _only("kept")
