"""The asset store's side of the triggerer's watchers: which watchers should run (read from
the registry, planned by :mod:`watcher_plan`), and recording a watcher's event as an event of
each asset it watches, with Airflow's extra ``{"from_trigger": true, "payload": ...}``."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import orjson
import redis.asyncio as aioredis

from airlane.queue import asset_reads
from airlane.queue import assets as asset_store
from airlane.queue.asset_records import AssetRef, EmittedEvent, EventSource
from airlane.queue.keys import Keys
from airlane.queue.scripts import Scripts
from airlane.sdk.triggers import TriggerEvent, serde
from airlane.service.triggerer.watcher_plan import WatcherSpec, active_assets, plan

log = logging.getLogger("airlane.triggerer")


def watcher_extra(event: TriggerEvent) -> dict[str, Any]:
    """Airflow's extra of an event a watcher's trigger fired (JSON-safe payload)."""
    payload = orjson.loads(serde.dumps(event.payload))
    return {"from_trigger": True, "payload": payload}


def dedupe_key(watcher_key: str, event_key: str) -> str:
    """An event's ``asset_event_sources`` field: ``watcher|<digest of the watcher key>|<event
    key>`` (a watcher key holds its trigger's kwargs: a digest keeps each field short)."""
    digest = hashlib.sha256(watcher_key.encode()).hexdigest()[:20]
    return f"watcher|{digest}|{event_key}"


class WatcherEvents:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self.scripts = Scripts.register(client, keys)

    async def plan(self) -> dict[str, WatcherSpec]:
        inputs = await asset_reads.watcher_inputs(self.client, self.keys)
        active = active_assets(inputs.conditions, inputs.paused, inputs.inactive)
        return plan(inputs.watchers, active)

    async def record(
        self, spec: WatcherSpec, key: str, event: TriggerEvent, dedupe: str | None
    ) -> None:
        extra = watcher_extra(event)
        emitted = []
        for name in spec.asset_names:
            record = await asset_store.asset_by_name(self.client, self.keys, name)
            if record is None:
                log.warning("asset %r of watcher %s is not registered: no event", name, key)
                continue
            ref = AssetRef(record.name, record.uri, record.group, record.extra)
            emitted.append(EmittedEvent(ref, extra))
        source = EventSource(dedupe_key=dedupe_key(key, dedupe) if dedupe else "")
        recorded = await asset_store.record_events(
            self.client, self.keys, emitted, source, self.scripts
        )
        log.info("asset watcher %s: %d asset event(s) recorded", key, len(recorded))
