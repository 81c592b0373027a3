"""Reads of the asset store (queue/assets.py) beside its own: each asset's latest event and
asset ids by name (the API's shapes, DAG details' ``asset_expression``), and what decides
which asset watchers run (the triggerer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.asset_records import AssetRecord, DagAssets
from airlane.queue.assets import events_by_id
from airlane.queue.keys import Keys


async def latest_events(
    client: aioredis.Redis, keys: Keys, asset_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """asset id -> its latest event (by timestamp, then id), for those with events."""
    if not asset_ids:
        return {}
    async with client.pipeline(transaction=False) as pipe:
        for asset_id in asset_ids:
            pipe.zrevrange(keys.asset_events_of(asset_id), 0, 0)
        newest = await pipe.execute()
    event_ids = [int(found[0]) for found in newest if found]
    return {int(e["asset_id"]): e for e in await events_by_id(client, keys, event_ids)}


async def ids_by_name(client: aioredis.Redis, keys: Keys) -> dict[str, int]:
    """asset name -> its id."""
    raw = await typed.hgetall(client, keys.asset_ids)
    return {name: int(asset_id) for asset_id, name in raw.items()}


@dataclass(frozen=True, slots=True)
class WatcherInputs:
    """What decides which asset watchers run: each asset's serialized watchers, each DAG's
    asset condition, the paused and inactive DAGs."""

    watchers: dict[str, list[dict[str, Any]]]
    conditions: dict[str, dict[str, Any] | None]
    paused: set[str]
    inactive: set[str]


async def watcher_inputs(client: aioredis.Redis, keys: Keys) -> WatcherInputs:
    async with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.assets)
        pipe.hgetall(keys.asset_deps)
        pipe.smembers(keys.paused)
        pipe.smembers(keys.inactive)
        raw_assets, raw_deps, paused, inactive = await pipe.execute()
    watchers = {}
    for text in raw_assets.values():
        record = AssetRecord.from_json(orjson.loads(text))
        if record.watchers:
            watchers[record.name] = [dict(w) for w in record.watchers]
    conditions = {}
    for text in raw_deps.values():
        deps = DagAssets.from_json(orjson.loads(text))
        conditions[deps.dag_id] = None if deps.condition is None else dict(deps.condition)
    return WatcherInputs(
        watchers, conditions, {_text(p) for p in paused}, {_text(i) for i in inactive}
    )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
