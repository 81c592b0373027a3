"""The Redis-stream watcher across a triggerer restart, against the real redis-server: an entry
whose event was not recorded yet is delivered again (nothing lost), and recording it again with
the watcher's dedupe key gives the first event (nothing twice); watcher leases run each watcher
on one triggerer; an event trigger keeps state in its assets' state store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from airlane.queue import assets
from airlane.queue.asset_records import AssetRef, EmittedEvent, EventSource
from airlane.queue.asset_watchers import LeaseWatchers, WatcherLeases
from airlane.queue.keys import Keys
from airlane.sdk.state_store import use_state_backend
from airlane.sdk.triggers import BaseEventTrigger, TriggerEvent
from airlane.sdk.triggers.redis_stream import RedisStreamTrigger
from airlane.service.execution.redis_state_store import RedisStateBackend, decode_record
from airlane.service.triggerer.watcher_plan import WatcherSpec
from airlane.service.triggerer.watchers import WatcherRunner, watched_state
from tests.integration.cluster import RedisServer

KEYS = Keys()


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    yield found
    await found.aclose()


async def _first(trigger: RedisStreamTrigger) -> TriggerEvent:
    events = trigger.run()
    try:
        return await anext(events)  # type: ignore[arg-type]
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def test_an_entry_not_yet_recorded_is_delivered_again_after_a_restart(
    client: aioredis.Redis, clean_redis: RedisServer
) -> None:
    first_id = await client.xadd("s", {"n": "1"})
    second_id = await client.xadd("s", {"n": "2"})
    trigger = RedisStreamTrigger(stream="s", redis_url=clean_redis.url, block_ms=100)
    # the triggerer stopped before recording the first event: it was never acknowledged
    assert (await _first(trigger)).payload["id"] == first_id
    events = trigger.run()
    try:
        again = await anext(events)  # type: ignore[arg-type]
        assert again.payload == {"stream": "s", "id": first_id, "fields": {"n": "1"}}
        assert RedisStreamTrigger.event_key(again) == first_id
        # asking for the next one acknowledges the first
        assert (await anext(events)).payload["id"] == second_id  # type: ignore[arg-type]
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    assert (await _first(trigger)).payload["id"] == second_id
    pending = await client.xpending("s", "airlane")
    assert pending["pending"] == 1


async def test_an_event_with_a_dedupe_key_is_recorded_once(client: aioredis.Redis) -> None:
    dag = {
        "dag_id": "consumer",
        "schedule": {
            "kind": "assets",
            "condition": {"asset": "w"},
            "assets": [{"name": "w", "uri": "w", "group": "asset", "extra": {}}],
        },
        "tasks": [],
    }
    await assets.sync_dag(client, KEYS, "consumer", dag)
    emitted = [EmittedEvent(AssetRef("w", "w"), {"from_trigger": True})]
    source = EventSource(dedupe_key="watcher|k|1-0")
    first = await assets.record_events(client, KEYS, emitted, source)
    again = await assets.record_events(client, KEYS, emitted, source)
    assert [e["id"] for e in again] == [e["id"] for e in first]
    other = await assets.record_events(
        client, KEYS, emitted, EventSource(dedupe_key="watcher|k|2-0")
    )
    assert other[0]["id"] != first[0]["id"]


async def test_a_watcher_runs_on_one_triggerer_until_its_lease_lapses(
    client: aioredis.Redis,
) -> None:
    leases = WatcherLeases(client, KEYS)
    assert await leases.round(LeaseWatchers("t1", 1000, 500, 10, ["w"], [])) == ([], ["w"])
    assert await leases.round(LeaseWatchers("t2", 1200, 500, 10, ["w"], [])) == ([], [])
    assert await leases.round(LeaseWatchers("t1", 1300, 500, 10, ["w"], ["w"])) == ([], [])
    # t1 stopped renewing: t2 takes it over; t1 learns it at its next round
    assert await leases.round(LeaseWatchers("t2", 1900, 500, 10, ["w"], [])) == ([], ["w"])
    assert await leases.round(LeaseWatchers("t1", 1950, 500, 10, ["w"], ["w"])) == (["w"], [])
    # no longer wanted: its holder gives it back
    assert await leases.round(LeaseWatchers("t2", 2000, 500, 10, [], ["w"])) == (["w"], [])
    assert await client.zcard(KEYS.asset_watcher_leases) == 0


class CountingTrigger(BaseEventTrigger):
    """Counts its runs in the watched asset's state store (Airflow 3.3: the triggerer sets
    ``asset_state_store`` on an event trigger before ``run()``)."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.CountingTrigger", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        state = self.asset_state_store
        seen = await state.aget("runs", default=0) + 1
        await state.aset("runs", seen)
        yield TriggerEvent({"runs": seen, "assets": len(state)})


async def test_an_event_trigger_keeps_state_in_its_assets_store(
    client: aioredis.Redis, clean_redis: RedisServer
) -> None:
    recorded: list[dict[str, Any]] = []

    async def record(spec: WatcherSpec, key: str, event: TriggerEvent, dedupe: str | None) -> None:
        recorded.append(event.payload)

    runner = WatcherRunner("t1", WatcherLeases(client, KEYS), _no_plan, record, lease_s=10)
    spec = WatcherSpec(f"{__name__}.CountingTrigger", "{}", ("orders",))
    sync_client = redis.Redis.from_url(clean_redis.url, decode_responses=True)
    try:
        with use_state_backend(RedisStateBackend(sync_client, KEYS)):
            await runner._run("k", spec)  # the trigger ends after one event: run it again
            await runner._run("k", spec)
    finally:
        sync_client.close()
    assert recorded == [{"runs": 1, "assets": 1}, {"runs": 2, "assets": 1}]
    raw = await client.hget(KEYS.asset_state("name:orders"), "runs")
    assert raw is not None
    assert decode_record(raw)[0] == "2"
    assert len(watched_state(("a", "b"))) == 2


async def _no_plan() -> dict[str, WatcherSpec]:
    raise AssertionError("not planned in this test")
