"""The asset figures of ``GET /metrics``: events recorded, asset-triggered runs created,
watchers running.

- Events recorded: the last event id given out (``asset_seqs`` "event": one per event, from
  tries, the API and watchers alike; kept when old events are trimmed).
- Runs created: the ``metrics`` hash's ``asset_runs_created`` field, which the coordinator adds
  to with its batch (MetricDeltas) and the API with ``count_asset_runs`` after events it posted.
- Watchers running: asset watchers whose triggerer lease has not expired.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from airlane.queue.keys import Keys

ASSET_RUNS_FIELD = "asset_runs_created"


@dataclass(frozen=True, slots=True)
class AssetFigures:
    events_recorded: int
    runs_created: int
    watchers_running: int


async def count_asset_runs(client: aioredis.Redis, keys: Keys, count: int) -> None:
    """Runs created outside the coordinator (after events posted to the API)."""
    if count:
        await client.hincrbyfloat(keys.metrics, ASSET_RUNS_FIELD, count)


async def asset_figures(
    client: aioredis.Redis, keys: Keys, now_s: float | None = None
) -> AssetFigures:
    now_ms = int((time.time() if now_s is None else now_s) * 1000)
    async with client.pipeline(transaction=False) as pipe:
        pipe.hget(keys.asset_seqs, "event")
        pipe.hget(keys.metrics, ASSET_RUNS_FIELD)
        pipe.zcount(keys.asset_watcher_leases, f"({now_ms}", "+inf")
        events, runs, watchers = await pipe.execute()
    return AssetFigures(int(events or 0), int(float(runs or 0)), int(watchers))
