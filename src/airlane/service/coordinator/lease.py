"""The coordinator's lease: who may write run progress, and the writes it fences."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.queue import typed
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.keys import Keys
from airlane.queue.scripts import Apply, Batch, Renew, Scripts, StreamRead
from airlane.service.coordinator.settings import LeaseLost


class Lease:
    """One coordinator's claim on the lease; ``apply`` and ``renew`` raise LeaseLost."""

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_ms: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl_ms = ttl_ms
        self.scripts = Scripts.register(client, keys)
        self.holder_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    async def acquire(self) -> bool:
        if await self.client.set(self.keys.lease, self.holder_id, nx=True, px=self.ttl_ms):
            return True
        return await typed.get(self.client, self.keys.lease) == self.holder_id

    async def release(self) -> None:
        try:
            if await typed.get(self.client, self.keys.lease) == self.holder_id:
                await self.client.delete(self.keys.lease)
        except TRANSIENT_ERRORS:
            pass

    async def renew(self) -> None:
        if not await self.scripts.renew(Renew(self.holder_id, self.ttl_ms)):
            raise LeaseLost

    async def apply(self, batch: Batch) -> None:
        """Write ``batch`` in one call, refused unless this coordinator holds the lease."""
        try:
            await self.scripts.apply(Apply(self.holder_id, self.ttl_ms, batch))
        except ResponseError as err:
            if "NOLEASE" in str(err):
                raise LeaseLost from None
            raise

    async def apply_then_read(self, batch: Batch, read: StreamRead) -> typed.StreamResponse:
        """:meth:`apply`, with ``read`` sent behind it in the same round trip
        (Scripts.apply_then_read): its answer."""
        try:
            response = await self.scripts.apply_then_read(
                Apply(self.holder_id, self.ttl_ms, batch), read
            )
        except ResponseError as err:
            if "NOLEASE" in str(err):
                raise LeaseLost from None
            raise
        return cast(typed.StreamResponse, response or [])

    async def apply_many(self, batches: Iterable[Batch]) -> None:
        """:meth:`apply` of each of ``batches`` in order, pipelined (Scripts.apply_many)."""
        calls = (Apply(self.holder_id, self.ttl_ms, batch) for batch in batches if batch)
        try:
            await self.scripts.apply_many(calls)
        except ResponseError as err:
            if "NOLEASE" in str(err):
                raise LeaseLost from None
            raise
