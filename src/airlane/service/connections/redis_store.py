"""Connections in Redis: the worker's synchronous store and the API's asynchronous one.

A task reads a connection from user code, in a thread, so the worker's store is synchronous
(like ``redis_variables``); the environment comes first (``connection_store.find_connection``).
"""

from __future__ import annotations

from typing import cast

import redis
import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.keys import Keys
from airlane.sdk.connection import Connection
from airlane.service.connections.fernet import current_cipher
from airlane.service.connections.records import from_record, to_record
from airlane.service.execution.loop_guard import refuse_on_event_loop

CONNECTIONS_ON_LOOP = (
    "Connection lookup from an async callable would block the worker's event loop; "
    "use `await BaseHook.aget_connection(conn_id)` there instead"
)


class RedisConnectionStore:
    """``ConnectionStore`` for tasks on a worker."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def get_connection(self, conn_id: str) -> Connection | None:
        refuse_on_event_loop(CONNECTIONS_ON_LOOP)
        raw = cast(str | None, self.client.hget(self.keys.connections, conn_id))
        return None if raw is None else from_record(conn_id, raw, current_cipher())


class ConnectionsAdmin:
    """Reading and writing stored connections for the API and the CLI."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def raw_all(self) -> dict[str, str]:
        return await typed.hgetall(self.client, self.keys.connections)

    async def get(self, conn_id: str) -> Connection | None:
        raw = await typed.hget(self.client, self.keys.connections, conn_id)
        return None if raw is None else from_record(conn_id, raw, current_cipher())

    async def put(self, conn: Connection) -> None:
        assert conn.conn_id is not None
        record = to_record(conn, current_cipher())
        await self.client.hset(self.keys.connections, conn.conn_id, record)

    async def add(self, conn: Connection) -> bool:
        """Store ``conn`` unless its id is taken; whether it was stored."""
        assert conn.conn_id is not None
        record = to_record(conn, current_cipher())
        return bool(await self.client.hsetnx(self.keys.connections, conn.conn_id, record))

    async def delete(self, conn_id: str) -> bool:
        return bool(await self.client.hdel(self.keys.connections, conn_id))
