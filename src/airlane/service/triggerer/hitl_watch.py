"""HITL details for the triggerer's HITL triggers, and notice of each answer as it is written.

One task per triggerer reads the ``hitl_answers`` stream (a blocking XREAD, from the entry last
seen, so nothing written while it reconnects is lost) and sets the events of the triggers
waiting on each answered instance: a trigger fires within milliseconds of the answer, with no
polling. Reads and writes of the details themselves: :mod:`airlane.queue.hitl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any, cast

import redis.asyncio as aioredis

from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.hitl import decode_detail, encode, parse_answer_notice
from airlane.queue.keys import Keys, ti_field
from airlane.sdk.hitl_detail import HITLDetail, HITLIdent, HITLResponse

log = logging.getLogger("airlane.triggerer")

#: longest blocking read of the stream (the reader then reads again)
BLOCK_MS = 5_000


class RedisHITLWatch:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._waiting: dict[HITLIdent, set[asyncio.Event]] = {}
        self._last_id = "0-0"

    async def read(self, ident: HITLIdent) -> HITLDetail | None:
        field_name = ti_field(ident.task_id, ident.map_index)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.hitl(ident.dag_id, ident.run_id), field_name)
            pipe.hget(self.keys.hitl_responses(ident.dag_id, ident.run_id), field_name)
            raw_request, raw_response = await pipe.execute()
        if raw_request is None:
            return None
        return decode_detail(
            _text(raw_request), None if raw_response is None else _text(raw_response)
        )

    async def respond(self, ident: HITLIdent, response: HITLResponse) -> HITLResponse:
        key = self.keys.hitl_responses(ident.dag_id, ident.run_id)
        field_name = ti_field(ident.task_id, ident.map_index)
        if await self.client.hsetnx(key, field_name, encode(response)):
            return response
        detail = await self.read(ident)
        if detail is None or detail.response is None:
            return response
        return detail.response

    @contextlib.contextmanager
    def watching(self, ident: HITLIdent) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiting.setdefault(ident, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(ident)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[ident]

    def answered(self, ident: HITLIdent) -> None:
        for event in self._waiting.get(ident, ()):
            event.set()

    async def start(self) -> None:
        """From the stream's newest entry on (triggers read the details when they start)."""
        newest = await self.client.xrevrange(self.keys.hitl_answers, count=1)
        if newest:
            self._last_id = _text(newest[0][0])

    async def listen(self, stop: asyncio.Event) -> None:
        """Until ``stop``: each notice wakes the triggers waiting on its instance."""
        while not stop.is_set():
            try:
                await self._read_once()
            except TRANSIENT_ERRORS:
                log.warning("Redis unavailable: HITL answers are read again shortly")
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("reading HITL answers failed")
                await asyncio.sleep(0.5)

    async def _read_once(self) -> None:
        stream = self.keys.hitl_answers
        found = await self.client.xread({stream: self._last_id}, block=BLOCK_MS, count=500)
        for _, entries in cast(list[Any], found) or ():
            for entry_id, fields in entries:
                self._last_id = _text(entry_id)
                try:
                    ident = parse_answer_notice({_text(k): _text(v) for k, v in fields.items()})
                except (KeyError, ValueError):
                    continue
                self.answered(ident)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else cast(str, value)
