"""A worker's record in Redis beside its heartbeat: the stops the coordinator asks of it, the
claims and the undelivered messages that are its own, and its leaving."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.keys import WORKER_GROUP, Keys
from airlane.queue.protocol import ClaimRef


class WorkerRecord:
    def __init__(
        self, client: aioredis.Redis, keys: Keys, worker_id: str, streams: Iterable[str]
    ) -> None:
        self.client = client
        self.keys = keys
        self.worker_id = worker_id
        self.streams = tuple(streams)

    async def stops_asked(self) -> set[str]:
        """The tries (StopIdent texts) the coordinator asks us to stop: cleared while they
        ran, or not counted by it."""
        return await typed.smembers(self.client, self.keys.worker_stop(self.worker_id))

    async def stops_done(self, idents: set[str]) -> None:
        if idents:
            await self.client.srem(self.keys.worker_stop(self.worker_id), *idents)

    async def claimed_idents(self) -> set[str]:
        """The tries claimed for us (``worker_tasks``), as StopIdent texts."""
        refs = await typed.smembers(self.client, self.keys.worker_tasks(self.worker_id))
        found = set()
        for raw in refs:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                found.add(ClaimRef.decode(raw).stop_ident.encode())
        return found

    async def undelivered(self, min_idle_ms: int) -> list[tuple[str, str, dict[str, str]]]:
        """(stream, message id, fields) of the messages Redis delivered to us whose reply a
        dropped connection lost: idle at least ``min_idle_ms`` in our pending list, where ">"
        reads never look and nobody reclaims a live worker's messages (taken again by us)."""
        found = []
        for stream in self.streams:
            entries = await typed.xclaim_idle(
                self.client, stream, WORKER_GROUP, self.worker_id, min_idle_ms
            )
            found += [(stream, message_id, fields) for message_id, fields in entries]
        return found

    async def deregister(self) -> None:
        """Leave: our entry goes, unless tries or messages are still ours (a hand back that
        could not be written): then our heartbeat is aged, so that the coordinator's reaper
        recovers them at once."""
        try:
            if await self._leaves_work_behind():
                await self.client.zadd(self.keys.worker_beats, {self.worker_id: 0})
                return
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keys.workers, self.worker_id)
                pipe.zrem(self.keys.worker_beats, self.worker_id)
                await pipe.execute()
        except TRANSIENT_ERRORS:
            pass

    async def _leaves_work_behind(self) -> bool:
        if await self.client.scard(self.keys.worker_tasks(self.worker_id)):
            return True
        for stream in self.streams:
            if await typed.xpending_consumer(self.client, stream, WORKER_GROUP, self.worker_id):
                return True
        return False
