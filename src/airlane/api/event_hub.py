"""One reader of the events stream per API process, fanned out in memory to every SSE client.

A client used to hold its own Redis connection in a blocking XREAD, so 100 viewers exhausted
the client's pool and every other route failed. Now one task reads the ``events`` stream on
its own connection and a second one tails the log streams that clients follow (``logs=true``),
both formatting each entry once and offering the bytes to each :class:`Subscription` whose
filter wants them. A subscription's queue is bounded: a client that falls that far behind is
dropped (its stream ends cleanly and it resumes with ``Last-Event-ID``). Reads of the past (a
resuming client's backlog, a log already being tailed) go through a separate small pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from airlane.api.event_format import (
    EventFilter,
    event_payload,
    id_tuple,
    log_frame,
    sse,
    try_of,
)
from airlane.queue import typed
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.keys import Keys

log = logging.getLogger("airlane.api")

READ_COUNT = 500
#: how long the events reader blocks per XREAD (it wakes sooner when entries arrive)
EVENTS_BLOCK_MS = 5000
#: how long the log reader blocks, so that a try tailed meanwhile joins its next read soon
LOGS_BLOCK_MS = 250
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class EventStreamSettings:
    """Limits of ``GET /api/v2/events`` (``AIRLANE_API_SSE_*``, read by ``airlane api``)."""

    #: open streams per user; more get 503
    max_per_user: int = 20
    #: open streams per API process; more get 503
    max_clients: int = 500
    #: frames queued for one client before it is dropped as too slow
    queue_frames: int = 1000
    #: connections of the pool that reads backlogs (other routes never use it)
    backlog_connections: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EventStreamSettings:
        default = cls()
        return cls(
            max_per_user=int(env.get("AIRLANE_API_SSE_MAX_PER_USER", default.max_per_user)),
            max_clients=int(env.get("AIRLANE_API_SSE_MAX_CLIENTS", default.max_clients)),
            queue_frames=int(env.get("AIRLANE_API_SSE_QUEUE_FRAMES", default.queue_frames)),
            backlog_connections=int(
                env.get("AIRLANE_API_SSE_BACKLOG_CONNECTIONS", default.backlog_connections)
            ),
        )


class Admission:
    """Counts open streams per user and in all; decides who may open one more (no I/O)."""

    def __init__(self, max_per_user: int, max_clients: int) -> None:
        self.max_per_user = max_per_user
        self.max_clients = max_clients
        self._open: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def admit(self, user: str) -> str | None:
        """None when ``user`` may open a stream (now counted), else why not."""
        if self._open[user] >= self.max_per_user:
            return f"Too many event streams for this user (at most {self.max_per_user})"
        if self.total >= self.max_clients:
            return f"Too many event streams on this server (at most {self.max_clients})"
        self._open[user] += 1
        return None

    def release(self, user: str) -> None:
        self._open[user] -= 1
        if self._open[user] <= 0:
            del self._open[user]


@dataclass(frozen=True, slots=True)
class Backfill:
    """Queued in place of the lines of a log stream up to ``upto`` that the client missed."""

    stream: str
    upto: str
    about: dict[str, Any]


Item = bytes | Backfill


class Subscription:
    """One client's bounded queue of frames, filled by the readers, drained by its handler."""

    def __init__(self, wants: EventFilter, after: str, capacity: int) -> None:
        self.wants = wants
        #: entries up to this id reach the client another way (its backlog)
        self.after = id_tuple(after)
        self.dropped = False
        self._capacity = capacity
        self._items: deque[Item] = deque()
        self._signal = asyncio.Event()

    def offer(self, item: Item) -> bool:
        """Queue ``item``; False (and the subscription dropped) when the queue is full."""
        if self.dropped:
            return False
        if len(self._items) >= self._capacity:
            self.dropped = True
            self._items.clear()
            self._signal.set()
            return False
        self._items.append(item)
        self._signal.set()
        return True

    async def take(self, timeout_s: float) -> list[Item]:
        """Everything queued, waiting up to ``timeout_s`` for something ([] when nothing)."""
        if not self._items and not self.dropped:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._signal.wait()
        self._signal.clear()
        items = list(self._items)
        self._items.clear()
        return items


@dataclass(eq=False)
class LogTail:
    stream: str
    about: dict[str, Any]
    last: str = "0-0"
    subscribers: set[Subscription] = field(default_factory=set)


class EventHub:
    """The readers and the subscriptions they feed; :meth:`run` until cancelled."""

    def __init__(self, client: aioredis.Redis, logs_client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._logs_client = logs_client
        self._keys = keys
        #: subscriptions grouped by filter, so that 200 viewers of one page cost one decision
        self._subs: dict[EventFilter, set[Subscription]] = {}
        self._tails: dict[str, LogTail] = {}
        self._tails_changed = asyncio.Event()
        self._last: str | None = None
        self._ready = asyncio.Event()

    async def wait_ready(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._ready.wait()
        return self._ready.is_set()

    def subscribe(self, wants: EventFilter, after: str, capacity: int) -> tuple[Subscription, str]:
        """A new subscription and the newest entry already read: the readers offer it every
        entry past both that one and ``after``; the client reads the rest as its backlog."""
        assert self._last is not None, "wait_ready first"
        newest = self._last
        after = after if id_tuple(after) > id_tuple(newest) else newest
        sub = Subscription(wants, after, capacity)
        self._subs.setdefault(wants, set()).add(sub)
        return sub, newest

    def unsubscribe(self, sub: Subscription) -> None:
        group = self._subs.get(sub.wants, set())
        group.discard(sub)
        if not group:
            self._subs.pop(sub.wants, None)
        for stream, tail in tuple(self._tails.items()):
            tail.subscribers.discard(sub)
            if not tail.subscribers:
                del self._tails[stream]

    def tail(self, sub: Subscription, data: dict[str, Any]) -> None:
        """Follow the log lines of the try that ``data`` (a ``running`` event) names."""
        about = try_of(data)
        stream = self._keys.log(*about.values())
        tail = self._tails.get(stream)
        if tail is None:
            # Nobody follows it yet: the log reader starts at its first line.
            self._tails[stream] = LogTail(stream, about, subscribers={sub})
            self._tails_changed.set()
        elif sub not in tail.subscribers:
            tail.subscribers.add(sub)
            if tail.last != "0-0":
                self._offer(sub, Backfill(stream, tail.last, about))

    async def run(self) -> None:
        await asyncio.gather(self._read_events(), self._read_logs())

    async def _read_events(self) -> None:
        while self._last is None:
            try:
                newest = await self._client.xrevrange(self._keys.events, count=1)
                self._last = str(newest[0][0]) if newest else "0-0"
            except TRANSIENT_ERRORS as err:
                log.warning("event stream: cannot read Redis (%s), retrying", err)
                await asyncio.sleep(RETRY_S)
        self._ready.set()
        while True:
            streams = {self._keys.events: self._last}
            try:
                found = await typed.xread(self._client, streams, READ_COUNT, EVENTS_BLOCK_MS)
            except TRANSIENT_ERRORS as err:
                log.warning("event stream: cannot read Redis (%s), retrying", err)
                await asyncio.sleep(RETRY_S)
                continue
            for _, entries in found:
                for entry_id, fields in entries:
                    self._last = entry_id
                    self._publish(entry_id, fields)

    def _publish(self, entry_id: str, fields: dict[str, str]) -> None:
        try:
            data = event_payload(entry_id, fields)
        except ValueError:
            log.warning("event stream: skipping malformed entry %s", entry_id)
            return
        frame = sse(entry_id, data["kind"], data)
        position = id_tuple(entry_id)
        for wants, group in tuple(self._subs.items()):
            if not wants.wants(data):
                continue
            tails = wants.tails(data)
            for sub in tuple(group):
                if position > sub.after and self._offer(sub, frame) and tails:
                    self.tail(sub, data)

    def _offer(self, sub: Subscription, item: Item) -> bool:
        if sub.offer(item):
            return True
        self.unsubscribe(sub)  # its handler sees it dropped and ends the stream
        return False

    async def _read_logs(self) -> None:
        while True:
            if not self._tails:
                self._tails_changed.clear()
                await self._tails_changed.wait()
                continue
            reading = dict(self._tails)
            streams = {stream: tail.last for stream, tail in reading.items()}
            try:
                found = await typed.xread(self._logs_client, streams, READ_COUNT, LOGS_BLOCK_MS)
            except TRANSIENT_ERRORS as err:
                log.warning("event stream: cannot read logs (%s), retrying", err)
                await asyncio.sleep(RETRY_S)
                continue
            for stream, entries in found:
                tail = reading[stream]
                if self._tails.get(stream) is not tail:
                    continue  # nobody follows it any more (a new tail starts over)
                for entry_id, fields in entries:
                    tail.last = entry_id
                    frame = log_frame(stream, tail.about, fields)
                    for sub in tuple(tail.subscribers):
                        self._offer(sub, frame)
