"""Connecting to Redis from the single setting ``AIRLANE_REDIS_URL``."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Errors after which a service waits and tries again (Redis restarting, network blip).
TRANSIENT_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def connect(
    url: str,
    *,
    client_name: str | None = None,
    max_connections: int | None = None,
    pool_timeout_s: float = 10.0,
) -> aioredis.Redis:
    """An asyncio client that decodes responses and retries briefly on connection errors.

    With ``max_connections`` its pool is bounded and a caller waits up to ``pool_timeout_s``
    for a free connection (redis-py's default pool fails at once past 100 connections).
    """
    options: dict[str, Any] = {
        "decode_responses": True,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
        "client_name": client_name,
    }
    if max_connections is None:
        return aioredis.Redis.from_url(url, **options)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_timeout_s, **options
    )
    return aioredis.Redis.from_pool(pool)


async def cancel_until_done(tasks: Collection[asyncio.Task[Any]], retry_s: float = 0.5) -> None:
    """Cancel ``tasks`` and wait until they have ended, cancelling again those that go on.

    redis-py often completes a command whose task was cancelled during it and loses the
    cancellation: a loop of Redis calls, cancelled once, can go on for ever. (Loops that can be
    stopped by an event are better stopped so.)
    """
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=retry_s)
