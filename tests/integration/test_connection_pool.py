"""The services' connection pool on a real Redis: a burst past its bound waits for a free
connection instead of failing (redis-py 6+'s pool raised ``MaxConnectionsError`` on the 101st
call out, which failed a worker's tries in a 10,000-task fan-out with 64 slots)."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from airlane.queue.connection import WaitingConnectionPool, connect
from airlane.service.worker.settings import WorkerSettings
from tests.integration.cluster import RedisServer

pytestmark = pytest.mark.timeout(60)


async def test_a_burst_past_the_bound_waits_for_a_free_connection(
    clean_redis: RedisServer,
) -> None:
    client = connect(clean_redis.url, max_connections=3)
    try:
        # twenty blocking calls out at once on three connections: each waits its turn
        answers = await asyncio.gather(
            *(client.blpop([f"nothing-{i}"], timeout=0.05) for i in range(20))
        )
        assert answers == [None] * 20
        pool = client.connection_pool
        assert isinstance(pool, WaitingConnectionPool)
        assert len(pool._in_use_connections) + len(pool._available_connections) <= 3
    finally:
        await client.aclose()


async def test_a_caller_that_waits_too_long_gets_a_connection_error(
    clean_redis: RedisServer,
) -> None:
    client = connect(clean_redis.url, max_connections=1, pool_timeout_s=0.2)
    pool = client.connection_pool
    try:
        held = await pool.get_connection()
        with pytest.raises(RedisConnectionError, match=r"no Redis connection free within 0\.2 s"):
            await client.get("key")
        waiting = asyncio.create_task(client.get("key"))
        done, _ = await asyncio.wait({waiting}, timeout=0.05)
        assert not done  # it waits for the held connection
        assert pool._released is not None
        await pool.release(held)  # and the release wakes it
        assert await waiting is None
    finally:
        await client.aclose()


def test_a_worker_pool_holds_its_slots_calls() -> None:
    assert WorkerSettings("redis://x", concurrency=64).redis_connections >= 4 * 64
