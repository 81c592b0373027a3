"""Trimming what every consumer group of a stream has acknowledged.

The task streams (``q:<queue>``), ``completions`` and ``commands`` are work queues: once every
group of a stream has been delivered an entry and acknowledged it, nobody reads it again. They
used to be capped only by count (``STREAM_MAXLEN``), so acknowledged entries piled up. The
coordinator calls :func:`trim_acknowledged` periodically: each stream is trimmed (``XTRIM
MINID``) up to its oldest entry that some group still holds pending (not acknowledged, for the
reclaim of a dead worker's messages) or has not been delivered yet. A stream without any group
is left alone: a group created later at id 0 must still find every entry.

The floor is computed from a snapshot (``XINFO GROUPS`` and ``XPENDING``); between the snapshot
and the trim, entries can only move forward (delivered, acknowledged) or be added after it, so
the floor never passes an entry that someone still needs. The ``events`` stream is not trimmed
here: it is the subscribers' resume log, capped by count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.queue.codec import loads
from airlane.queue.keys import Keys

log = logging.getLogger("airlane.trimming")


@dataclass(frozen=True, slots=True)
class GroupPosition:
    """What one consumer group still needs of a stream."""

    last_delivered_id: str
    #: the smallest id delivered and not acknowledged, None when nothing is pending
    oldest_pending_id: str | None


def _parse(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def trim_floor(groups: Iterable[GroupPosition]) -> str | None:
    """The MINID below which every group has acknowledged every entry (None: trim nothing).

    For each group: its oldest pending entry, or else the entry after the last one delivered
    to it. The floor is the smallest of those over all groups.
    """
    floors: list[tuple[int, int]] = []
    for group in groups:
        if group.oldest_pending_id is not None:
            floors.append(_parse(group.oldest_pending_id))
        else:
            ms, seq = _parse(group.last_delivered_id)
            floors.append((ms, seq + 1))
    if not floors:
        return None
    ms, seq = min(floors)
    if (ms, seq) <= (0, 1):
        return None  # nothing delivered yet
    return f"{ms}-{seq}"


async def group_positions(client: aioredis.Redis, stream: str) -> list[GroupPosition]:
    """Every group's position on ``stream`` (none for a stream that does not exist)."""
    try:
        groups = await client.xinfo_groups(stream)
    except ResponseError:
        return []  # no such stream
    positions = []
    for group in groups:
        pending = await client.xpending(stream, group["name"])
        oldest = pending.get("min") if pending.get("pending") else None
        positions.append(GroupPosition(str(group["last-delivered-id"]), oldest))
    return positions


async def trim_acknowledged(client: aioredis.Redis, streams: Iterable[str]) -> int:
    """Trim each of ``streams`` up to what its groups still need; the entries removed."""
    removed = 0
    for stream in sorted(set(streams)):
        floor = trim_floor(await group_positions(client, stream))
        if floor is not None:
            removed += int(await client.xtrim(stream, minid=floor, approximate=False))
    return removed


class StreamTrimmer:
    """The coordinator's duty: now and then, trim its work streams.

    The task streams are those of the queues of every DAG version the coordinator has loaded
    (``graphs``: content hash -> (serialized DAG, graph)) and of every live worker, so a queue
    whose runs ended before a restart is trimmed once a worker serves it.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys, interval_s: float) -> None:
        self.client = client
        self.keys = keys
        self.interval_s = interval_s
        self.queues: set[str] = set()
        self._seen_graphs: set[str] = set()
        self._next_s = 0.0

    async def maybe_trim(self, now_s: float, graphs: Mapping[str, tuple[Any, Any]]) -> int:
        if now_s < self._next_s:
            return 0
        self._next_s = now_s + self.interval_s
        for content_hash, (dag, _) in graphs.items():
            if content_hash not in self._seen_graphs:
                self._seen_graphs.add(content_hash)
                self.queues.update(str(t.get("queue", "default")) for t in dag.get("tasks", []))
        for raw in await self.client.hvals(self.keys.workers):
            try:
                self.queues.update(str(q) for q in loads(raw).get("queues", []))
            except (ValueError, AttributeError, TypeError):
                continue  # a malformed worker record
        streams = [self.keys.completions, self.keys.commands]
        streams += [self.keys.queue(name) for name in self.queues]
        try:
            return await trim_acknowledged(self.client, streams)
        except ResponseError:  # e.g. a key of another type: housekeeping must not stop us
            log.exception("trimming the work streams failed; trying again later")
            return 0
