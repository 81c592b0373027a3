"""Typed forms of the redis-py calls Airlane uses (its clients decode responses to ``str``)."""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis

StreamEntries = list[tuple[str, dict[str, str]]]
StreamResponse = list[tuple[str, StreamEntries]]


async def xreadgroup(
    client: aioredis.Redis,
    group: str,
    consumer: str,
    streams: dict[str, str],
    *,
    count: int,
    block: int | None,
) -> StreamResponse:
    response = await client.xreadgroup(
        group, consumer, cast(Any, streams), count=count, block=block
    )
    return cast(StreamResponse, response or [])


async def xrange(
    client: aioredis.Redis, key: str, start: str = "-", end: str = "+", count: int | None = None
) -> StreamEntries:
    return cast(StreamEntries, await client.xrange(key, start, end, count=count))


async def hgetall(client: aioredis.Redis, key: str) -> dict[str, str]:
    return cast(dict[str, str], await client.hgetall(key))


async def hget(client: aioredis.Redis, key: str, field: str) -> str | None:
    return cast("str | None", await client.hget(key, field))


async def hmget(client: aioredis.Redis, key: str, fields: list[str]) -> list[str | None]:
    return cast("list[str | None]", await client.hmget(key, fields))


async def get(client: aioredis.Redis, key: str) -> str | None:
    return cast("str | None", await client.get(key))


async def smembers(client: aioredis.Redis, key: str) -> set[str]:
    return cast(set[str], await client.smembers(key))


async def zrangebyscore(
    client: aioredis.Redis, key: str, low: float | str, high: float | str
) -> list[str]:
    return cast(list[str], await client.zrangebyscore(key, low, high))


async def xpending_consumer(
    client: aioredis.Redis, stream: str, group: str, consumer: str
) -> list[str]:
    """IDs of the messages of ``stream`` delivered to ``consumer`` and not acknowledged."""
    pending = await client.xpending_range(stream, group, "-", "+", 10_000, consumername=consumer)
    return [str(item["message_id"]) for item in cast(list[dict[str, Any]], pending)]


async def xclaim_idle(
    client: aioredis.Redis, stream: str, group: str, consumer: str, min_idle_ms: int
) -> StreamEntries:
    """Entries of ``stream`` delivered to ``consumer``, unacknowledged and idle at least
    ``min_idle_ms``, claimed again by the same consumer (which resets their idle time)."""
    pending = await client.xpending_range(
        stream, group, "-", "+", 1000, consumername=consumer, idle=min_idle_ms
    )
    ids = [str(item["message_id"]) for item in cast(list[dict[str, Any]], pending)]
    if not ids:
        return []
    claimed = await client.xclaim(stream, group, consumer, min_idle_ms, cast(Any, ids))
    return [(entry_id, fields) for entry_id, fields in cast(StreamEntries, claimed) if fields]


async def xread(
    client: aioredis.Redis, streams: dict[str, str], count: int, block_ms: int
) -> StreamResponse:
    found = await client.xread(cast(Any, streams), count=count, block=block_ms)
    return cast(StreamResponse, found or [])
