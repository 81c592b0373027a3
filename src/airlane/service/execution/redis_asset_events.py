"""``inlet_events`` on a worker: an asset's events, read from the asset store in Redis
(queue/assets.py's keys), oldest first; and the registered assets by name (what an ``@asset``
function's arguments receive).

Read in user code, in a worker thread: a synchronous client is right here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson
import redis

from airlane.queue.keys import Keys
from airlane.sdk.assets import Asset
from airlane.service.execution.loop_guard import refuse_on_event_loop

EVENTS_ON_LOOP = (
    "inlet_events from an async callable would block the worker's event loop; "
    "read them in a synchronous task"
)


class RedisAssetEventReader:
    """sdk.asset_events.AssetEventReader on the asset store."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def events_for_asset(self, name: str) -> Sequence[Mapping[str, Any]]:
        refuse_on_event_loop(EVENTS_ON_LOOP)
        raw = cast(str | None, self.client.hget(self.keys.assets, name))
        if raw is None:
            return []
        asset = orjson.loads(raw)
        ids = cast(list[str], self.client.zrange(self.keys.asset_events_of(asset["id"]), 0, -1))
        if not ids:
            return []
        bodies = cast(list[str | None], self.client.hmget(self.keys.asset_events, ids))
        events = [orjson.loads(b) for b in bodies if b is not None]
        for event in events:
            event["asset_extra"] = asset.get("extra") or {}
        return sorted(events, key=lambda e: (e["timestamp"], e["id"]))

    def asset(self, name: str) -> Asset | None:
        """The registered asset named ``name`` (any DAG's: an ``@asset`` function's argument,
        which Airflow fetches from its database by name), None when there is none."""
        refuse_on_event_loop(EVENTS_ON_LOOP)
        raw = cast(str | None, self.client.hget(self.keys.assets, name))
        if raw is None:
            return None
        found = orjson.loads(raw)
        return Asset(
            name=found["name"],
            uri=found["uri"],
            group=found.get("group") or "asset",
            extra=found.get("extra") or {},
        )

    def events_for_alias(self, alias: str) -> Sequence[Mapping[str, Any]]:
        refuse_on_event_loop(EVENTS_ON_LOOP)
        names = sorted(cast(set[str], self.client.smembers(self.keys.asset_alias(alias))))
        found = [
            event
            for name in names
            for event in self.events_for_asset(name)
            if alias in {a.get("name") for a in event.get("source_aliases") or ()}
        ]
        return sorted(found, key=lambda e: (e["timestamp"], e["id"]))
