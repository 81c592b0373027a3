"""A triggerer stopped gracefully removes its status, even when it held no trigger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.service.triggerer import Triggerer, TriggererSettings
from tests.integration.cluster import RedisServer

pytestmark = pytest.mark.timeout(30)


async def test_a_stopped_triggerer_without_triggers_removes_its_status(
    clean_redis: RedisServer, tmp_path: Path
) -> None:
    client = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    keys = Keys()
    settings = TriggererSettings(clean_redis.url, str(tmp_path), lease_s=0.3, poll_s=0.05)
    triggerer = Triggerer(settings, client, keys)
    stop = asyncio.Event()
    running = asyncio.create_task(triggerer.run(stop))
    try:
        for _ in range(500):  # its first renewal writes its status (lease_s / 3)
            if await client.hexists(keys.triggerers, triggerer.triggerer_id):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the triggerer wrote no status")
    finally:
        stop.set()
        await running
    assert await client.hlen(keys.triggerers) == 0
    await client.aclose()
