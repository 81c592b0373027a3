"""The state stores in Redis (service/execution/redis_state_store.py, real redis-server): a task
instance's keys beside its task's other map indexes, expiry removed by the retention pass
only once due (and not after a newer set), asset keys by name, keys gone with their run, and
``airlane state-store clean``."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import redis
import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.sdk.state_store import (
    NEVER_EXPIRE,
    AssetStateStoreAccessor,
    TaskScope,
    TaskStateStoreAccessor,
    use_state_backend,
)
from airlane.service.execution.redis_state_store import RedisStateBackend, remove_expired
from airlane.service.retention import run_keys
from tests.conftest import run_cli
from tests.integration.cluster import RedisServer


def test_task_and_asset_state_in_redis(clean_redis: RedisServer) -> None:
    keys = Keys()
    client = redis.Redis.from_url(clean_redis.url, decode_responses=True)
    backend = RedisStateBackend(client, keys)
    first = TaskStateStoreAccessor(TaskScope("d", "r", "t", 0))
    second = TaskStateStoreAccessor(TaskScope("d", "r", "t", 1))
    asset = AssetStateStoreAccessor(name="orders")
    with use_state_backend(backend):
        first.set("job", "job-1", retention=NEVER_EXPIRE)
        second.set("job", {"id": 2}, retention=timedelta(seconds=30))
        asset.set("watermark", 5)
        assert (first.get("job"), second.get("job"), asset.get("watermark")) == (
            "job-1",
            {"id": 2},
            5,
        )
        first.clear()  # only its own map index
        assert (first.get("job"), second.get("job")) == (None, {"id": 2})
        assert AssetStateStoreAccessor(name="orders").get("watermark") == 5
    expiring = client.zrange(keys.task_state_expiry, 0, -1, withscores=True)
    assert len(expiring) == 1
    assert client.hexists(keys.task_state("d", "r", "t"), "1|job")

    async def expire(now_s: float) -> int:
        aclient = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
        try:
            return await remove_expired(aclient, keys, now_s)
        finally:
            await aclient.aclose()

    assert asyncio.run(expire(time.time())) == 0  # not due yet
    assert asyncio.run(expire(time.time() + 60)) == 1
    assert not client.hexists(keys.task_state("d", "r", "t"), "1|job")
    assert client.zcard(keys.task_state_expiry) == 0
    with use_state_backend(backend):
        second.set("job", 1, retention=timedelta(seconds=1))
        second.set("job", 2, retention=NEVER_EXPIRE)  # set again: no expiry left
    assert asyncio.run(expire(time.time() + 60)) == 0
    # the run's keys include its task state
    doomed = run_keys(keys, "d", "r", {}, ["t|1|1"])
    assert keys.task_state("d", "r", "t") in doomed
    client.close()


def test_the_cli_removes_expired_keys(clean_redis: RedisServer) -> None:
    keys = Keys()
    client = redis.Redis.from_url(clean_redis.url, decode_responses=True)
    backend = RedisStateBackend(client, keys)
    past, future = time.time() - 10, time.time() + 3600
    backend.set(TaskScope("d", "r", "t", -1), "old", '"x"', past)
    backend.set(TaskScope("d", "r", "t", -1), "new", '"y"', future)
    env = {"AIRLANE_REDIS_URL": clean_redis.url}
    dry = run_cli("state-store", "clean", "--dry-run", env=env)
    assert dry.code == 0, dry.stderr
    assert "1 expired task state store keys would be removed" in dry.stdout
    assert client.hexists(keys.task_state("d", "r", "t"), "-1|old")
    done = run_cli("state-store", "clean", env=env)
    assert done.code == 0, done.stderr
    assert "1 expired task state store keys removed" in done.stdout
    assert client.hkeys(keys.task_state("d", "r", "t")) == ["-1|new"]
    client.close()
