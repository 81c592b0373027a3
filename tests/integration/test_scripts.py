"""The Lua scripts on their own, against the real redis-server."""

from __future__ import annotations

import orjson
import redis.asyncio as aioredis

from airlane.queue.keys import Keys, run_ref, ti_field
from airlane.queue.scripts import Scripts
from tests.integration.cluster import RedisServer

KEYS = Keys()
DAG, RUN, TASK = "d", "r", "t"


async def _claim(client: aioredis.Redis, worker: str, ref: str, try_number: int) -> list[int]:
    scripts = Scripts.register(client)
    claims = [
        [
            KEYS.tis(DAG, RUN),
            KEYS.claims(DAG, RUN),
            ti_field(TASK, -1),
            str(try_number),
            ref,
            run_ref(DAG, RUN),
        ]
    ]
    result = await scripts.claim_many(
        keys=[KEYS.completions, KEYS.worker_tasks(worker)],
        args=[worker, "1.0", 1000, orjson.dumps(claims).decode()],
    )
    return list(result)


async def test_a_claim_asked_again_by_its_worker_still_holds(clean_redis: RedisServer) -> None:
    """A claim whose reply a dropped connection lost is retried: the worker keeps its try (it
    was lost to everybody before), and nobody else gets it."""
    client = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    record = {"state": "queued", "try_number": 1}
    await client.hset(KEYS.tis(DAG, RUN), ti_field(TASK, -1), orjson.dumps(record).decode())
    try:
        assert await _claim(client, "w1", "ref-1", 1) == [1]
        assert await _claim(client, "w1", "ref-1", 1) == [1]  # the same call, retried
        assert await _claim(client, "w2", "ref-2", 1) == [0]  # a duplicate message elsewhere
        assert await _claim(client, "w1", "ref-other", 1) == [0]  # another message of the try
        started = [f for _, f in await client.xrange(KEYS.completions) if f["kind"] == "started"]
        assert len(started) == 1
    finally:
        await client.aclose()
