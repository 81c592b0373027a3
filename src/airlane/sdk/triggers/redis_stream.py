"""``RedisStreamTrigger``: an asset watcher's message source on a Redis stream.

An external producer ``XADD``s to ``stream``; each entry becomes one event, whose payload is
``{"stream", "id", "fields"}`` (the asset event's extra is Airflow's
``{"from_trigger": true, "payload": ...}``). The trigger reads through a consumer group
(``group``, created at ``start_id`` when missing: ``"0"`` takes the entries already in the
stream too) under one fixed consumer name, and acknowledges an entry only when it asks for
the next one, that is once the triggerer recorded its event. After a triggerer restart it
first reads its entries still pending (delivered, not acknowledged), whose events the
triggerer recognizes by :meth:`event_key` (the entry id) and does not record twice: no
message is lost or recorded twice.

Airflow has no Redis-stream trigger; its common-messaging provider's Redis flavour
(``redis+pubsub://``) is pub/sub, which drops messages sent while nobody listens, so it is not
mapped onto this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.sdk.triggers import BaseEventTrigger, TriggerEvent

CLASSPATH = "airlane.sdk.triggers.redis_stream.RedisStreamTrigger"
#: the one consumer of the group: one triggerer at a time holds a watcher's lease
CONSUMER = "airlane-watcher"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamTrigger(BaseEventTrigger):
    """Each entry of ``stream`` (at ``redis_url``) becomes an event of the watched asset."""

    def __init__(
        self,
        stream: str,
        redis_url: str = "redis://localhost:6379/0",
        group: str = "airlane",
        start_id: str = "0",
        block_ms: int = 5000,
        batch: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"RedisStreamTrigger got unexpected arguments {sorted(kwargs)}")
        if not stream:
            raise ValueError("RedisStreamTrigger needs a stream name")
        if block_ms <= 0 or batch <= 0:
            raise ValueError("RedisStreamTrigger's block_ms and batch must be positive")
        self.stream = stream
        self.redis_url = redis_url
        self.group = group
        self.start_id = start_id
        self.block_ms = block_ms
        self.batch = batch

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "stream": self.stream,
                "redis_url": self.redis_url,
                "group": self.group,
                "start_id": self.start_id,
                "block_ms": self.block_ms,
                "batch": self.batch,
            },
        )

    @staticmethod
    def event_key(event: TriggerEvent) -> str | None:
        """What makes an event unique: its entry id (the triggerer records it once)."""
        payload = event.payload
        return str(payload["id"]) if isinstance(payload, dict) and "id" in payload else None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        client = aioredis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            await self._ensure_group(client)
            # pending first (delivered before a restart, never acknowledged), then new ones
            cursor = "0"
            while True:
                entries = await self._read(client, cursor)
                if cursor != ">" and not entries:
                    cursor = ">"
                    continue
                for entry_id, fields in entries:
                    yield TriggerEvent(
                        {"stream": self.stream, "id": _text(entry_id), "fields": fields}
                    )
                    # asked for the next event: this one's is recorded
                    await client.xack(self.stream, self.group, entry_id)
                if cursor != ">" and entries:
                    cursor = _text(entries[-1][0])
        finally:
            await client.aclose()

    async def _ensure_group(self, client: aioredis.Redis) -> None:
        try:
            await client.xgroup_create(self.stream, self.group, id=self.start_id, mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    async def _read(self, client: aioredis.Redis, cursor: str) -> list[tuple[Any, dict[str, Any]]]:
        block = self.block_ms if cursor == ">" else None
        answer: Any = await client.xreadgroup(
            self.group, CONSUMER, {self.stream: cursor}, count=self.batch, block=block
        )
        if not answer:
            return []
        # RESP2 answers [[stream, entries]], RESP3 {stream: entries}
        found = answer.get(self.stream) if isinstance(answer, dict) else answer[0][1]
        entries: list[tuple[Any, dict[str, Any]]] = list(found or ())
        # a pending entry deleted from the stream meanwhile reads as (id, None): acknowledge it
        return [(i, f) for i, f in entries if f is not None]
