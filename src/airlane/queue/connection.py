"""Connecting to Redis from the single setting ``AIRLANE_REDIS_URL``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Errors after which a service waits and tries again (Redis restarting, network blip).
TRANSIENT_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


class WaitingConnectionPool(aioredis.ConnectionPool):
    """redis-py's pool, except that a caller past ``max_connections`` waits up to
    ``timeout_s`` for a connection to be released instead of failing at once.

    redis-py 6+ bounds every pool at 100 connections and raises ``MaxConnectionsError`` on the
    101st call out: a burst (a worker's 64 slots starting at once, each reading its run and
    writing its log) then failed tries. Its ``BlockingConnectionPool`` waits, but costs every
    call a condition and a timer (10 to 20 us of CPU per call here); this pool costs nothing
    until the bound is reached.
    """

    def __init__(self, *, timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout_s = timeout_s
        self._released: asyncio.Event | None = None

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            try:
                return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
            except MaxConnectionsError:
                remaining_s = deadline - loop.time()
                if remaining_s <= 0:
                    raise RedisConnectionError(
                        f"no Redis connection free within {self.timeout_s:g} s "
                        f"(all {self.max_connections} in use)"
                    ) from None
                if self._released is None:
                    self._released = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), remaining_s)

    async def release(self, connection: AbstractConnection) -> None:
        await super().release(connection)
        released, self._released = self._released, None
        if released is not None:
            released.set()


def connect(
    url: str,
    *,
    client_name: str | None = None,
    max_connections: int = 100,
    pool_timeout_s: float = 10.0,
) -> aioredis.Redis:
    """An asyncio client that decodes responses and retries briefly on connection errors.

    Its pool holds up to ``max_connections``; past them a caller waits up to
    ``pool_timeout_s`` for a free one (``WaitingConnectionPool``).
    """
    options: dict[str, Any] = {
        "decode_responses": True,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
        "client_name": client_name,
    }
    pool = WaitingConnectionPool.from_url(
        url, max_connections=max_connections, timeout_s=pool_timeout_s, **options
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
