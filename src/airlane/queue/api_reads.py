"""The reads the API makes beside :class:`~airlane.queue.store.Store`'s own: heartbeats,
schedule entries, metric counters, pages of a stream and of a try's log.

Each takes the ``Store`` (its client and key names), so that the API's handlers never reach
for the Redis client themselves; like :mod:`airlane.queue.monitoring`, they only read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from airlane.queue import log_pages, typed
from airlane.queue.store import Store


@dataclass(frozen=True, slots=True)
class Heartbeats:
    """The services' latest heartbeats, as the health check reports them."""

    #: the coordinator's last beat (epoch seconds as Redis holds it), None if it never beat
    coordinator: str | None
    #: the DAG processor's last beat, None if it never beat
    dag_processor: str | None
    #: how many workers beat since the time the check was given
    live_workers: int


async def heartbeats(store: Store, workers_since_s: float) -> Heartbeats:
    """Raises whatever the client raises when Redis cannot be reached (a ping first)."""
    client, keys = store.client, store.keys
    await client.ping()
    coordinator = await typed.get(client, keys.coordinator_beat)
    processor = await typed.get(client, keys.dag_processor_beat)
    workers = await client.zcount(keys.worker_beats, workers_since_s, "+inf")
    return Heartbeats(coordinator, processor, int(workers))


async def schedule_entries(store: Store) -> dict[str, str]:
    """dag_id -> the latest scheduled run made for it (the ``schedules`` hash, raw)."""
    return await typed.hgetall(store.client, store.keys.schedules)


async def schedule_entry(store: Store, dag_id: str) -> str | None:
    return await typed.hget(store.client, store.keys.schedules, dag_id)


async def metric_counters(store: Store) -> dict[str, str]:
    """The services' counters (the ``metrics`` hash, raw)."""
    return await typed.hgetall(store.client, store.keys.metrics)


async def stream_page(
    store: Store, key: str, start: str, end: str, count: int
) -> typed.StreamEntries:
    """At most ``count`` entries of stream ``key`` from ``start`` to ``end`` (inclusive)."""
    return await typed.xrange(store.client, key, start, end, count)


async def stream_info(store: Store, key: str) -> dict[str, Any] | None:
    """XINFO STREAM of ``key``; None when there is no such stream yet."""
    try:
        info: dict[str, Any] = await store.client.xinfo_stream(key)
    except ResponseError:
        return None
    return info


async def log_page(store: Store, key: str, after: str | None) -> log_pages.LogPage:
    """One page of the log at ``key``, after entry ``after`` (from its start when None)."""
    return await log_pages.read_page(store.client, key, after)


async def log_end(store: Store, key: str) -> str | None:
    """The log's last entry now (None when empty): where a full read stops."""
    return await log_pages.last_position(store.client, key)


def log_rest(store: Store, key: str, after: str | None, until: str) -> AsyncIterator[list[str]]:
    """The log's lines after ``after`` up to ``until``, page by page."""
    return log_pages.iter_pages(store.client, key, after, until=until)
