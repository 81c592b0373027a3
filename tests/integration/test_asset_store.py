"""The asset store (queue/assets.py) against the real redis-server: the registry, events with
Airflow's fields, queued consumers, a try's events recorded once, and a consumer's run created
once from its queued events. Scripts are checked as in test_scripts.py (keys in KEYS, one slot).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from airlane.queue import assets
from airlane.queue.asset_records import AssetRef, EmittedEvent, EventSource, iso_us, queue_field
from airlane.queue.asset_runs import create_ready_runs
from airlane.queue.keys import Keys
from airlane.queue.scripts import CreateAssetRun
from tests.integration.cluster import RedisServer
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
A = {"name": "a", "uri": "s3://bucket/a", "group": "asset", "extra": {"k": 1}}
B = {"name": "b", "uri": "b", "group": "asset", "extra": {}}


def _producer() -> dict[str, Any]:
    return {
        "dag_id": "producer",
        "schedule": {"kind": "none"},
        "tasks": [
            {"task_id": "make", "outlets": [A, B], "inlets": []},
            {"task_id": "alias_maker", "outlets": [{"alias": "al", "group": "asset"}]},
        ],
    }


def _consumer(dag_id: str, condition: dict[str, Any]) -> dict[str, Any]:
    schedule = {"kind": "assets", "expression": "", "condition": condition, "assets": [A, B]}
    return {"dag_id": dag_id, "schedule": schedule, "tasks": [{"task_id": "t", "inlets": [A]}]}


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    for dag in (_producer(), _consumer("both", {"all": [{"asset": "a"}, {"asset": "b"}]})):
        await found.hset(KEYS.dags, dag["dag_id"], "hash")
        await assets.sync_dag(found, KEYS, dag["dag_id"], dag)
    await assets.sync_dag(found, KEYS, "on_alias", _consumer("on_alias", {"alias": "al"}))
    await found.hset(KEYS.dags, "on_alias", "hash")
    yield found
    await found.aclose()


def _try(task_id: str = "make", try_number: int = 1) -> EventSource:
    return EventSource("producer", "run_1", task_id, -1, try_number)


def _emit(ref: dict[str, Any], extra: dict[str, Any] | None = None) -> EmittedEvent:
    return EmittedEvent(AssetRef.from_json(ref), extra or {})


async def test_the_registry_gives_each_asset_a_stable_id(client: aioredis.Redis) -> None:
    first = {a.name: a.id for a in await assets.assets(client, KEYS)}
    assert first == {"a": 1, "b": 2}
    await assets.sync_dag(client, KEYS, "producer", _producer())
    found = await assets.asset(client, KEYS, 1)
    assert found is not None
    assert found.uri == "s3://bucket/a"
    assert found.extra == {"k": 1}
    deps = await assets.dag_assets(client, KEYS)
    assert deps["producer"].outlets == {"make": ["a", "b"]}
    assert deps["producer"].outlet_aliases == {"alias_maker": ["al"]}
    assert deps["both"].inlets == {"t": ["a"]}
    assert [a.name for a in await assets.aliases(client, KEYS)] == ["al"]


async def test_a_try_records_its_events_once(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    emitted = [_emit(A, {"rows": 3})]
    first = await assets.record_events(client, KEYS, emitted, _try(), scripts)
    again = await assets.record_events(client, KEYS, emitted, _try(), scripts)
    assert [e["id"] for e in first] == [e["id"] for e in again] == [1]
    event = first[0]
    assert {k: event[k] for k in ("asset_id", "uri", "name", "group", "extra")} == {
        "asset_id": 1,
        "uri": "s3://bucket/a",
        "name": "a",
        "group": "asset",
        "extra": {"rows": 3},
    }
    assert (event["source_dag_id"], event["source_task_id"], event["source_run_id"]) == (
        "producer",
        "make",
        "run_1",
    )
    assert event["source_map_index"] == -1
    assert event["created_dagruns"] == []
    queued = await assets.queued_events(client, KEYS, dag_id="both")
    assert [(q.dag_id, q.asset_id, q.uri) for q in queued] == [("both", 1, "s3://bucket/a")]
    stream = [f for _, f in await client.xrange(KEYS.events) if f.get("kind") == "asset"]
    assert len(stream) == 1
    assert orjson.loads(stream[0]["event"])["id"] == 1
    # the next try records anew
    later = await assets.record_events(client, KEYS, emitted, _try(try_number=2), scripts)
    assert [e["id"] for e in later] == [2]


async def test_paused_consumers_and_unknown_assets_are_not_queued(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await client.sadd(KEYS.paused, "both")
    unknown = _emit({"name": "nope", "uri": "nope"})
    recorded = await assets.record_events(client, KEYS, [_emit(B), unknown], _try(), scripts)
    assert [e["name"] for e in recorded] == ["b"]
    assert await assets.queued_events(client, KEYS) == []


async def test_an_alias_resolves_registers_and_queues_its_consumers(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    new = AssetRef("fresh", "file:///fresh")
    emitted = [
        EmittedEvent(new, {"x": 1}, ("al",)),
        EmittedEvent(new, {"x": 1}, ("al2",)),
    ]
    recorded = await assets.record_events(client, KEYS, emitted, _try("alias_maker"), scripts)
    assert len(recorded) == 1
    assert [a["name"] for a in recorded[0]["source_aliases"]] == ["al", "al2"]
    fresh = await assets.asset_by_name(client, KEYS, "fresh")
    assert fresh is not None
    assert recorded[0]["asset_id"] == fresh.id
    by_name = {a.name: a for a in await assets.aliases(client, KEYS)}
    assert by_name["al"].asset_names == {"fresh"}
    queued = await assets.queued_events(client, KEYS)
    assert [(q.dag_id, q.asset_name) for q in queued] == [("on_alias", "fresh")]


async def test_events_filter_page_and_window(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    for n in range(1, 4):
        await assets.record_events(client, KEYS, [_emit(A), _emit(B)], _try(try_number=n), scripts)
    outside = EventSource()
    await assets.record_events(client, KEYS, [_emit(A)], outside, scripts)
    page, total = await assets.events(client, KEYS, assets.EventFilter(asset_id=1), 1, 2)
    assert total == 4
    assert [e["id"] for e in page] == [3, 5]
    newest, _ = await assets.events(client, KEYS, assets.EventFilter(newest_first=True), 0, 1)
    assert newest[0]["id"] == 7
    assert newest[0]["source_dag_id"] is None
    by_task, total = await assets.events(
        client, KEYS, assets.EventFilter(source_task_id="make", asset_id=2)
    )
    assert total == 3
    assert {e["name"] for e in by_task} == {"b"}
    assert [e["id"] for e in await assets.events_of(client, KEYS, 1)] == [1, 3, 5, 7]
    first, last = await assets.events_by_id(client, KEYS, [1, 7])
    assert await assets.events_of(client, KEYS, 1, after_us=iso_us(last["timestamp"])) == []
    assert await assets.events_of(client, KEYS, 1, until_us=iso_us(first["timestamp"]) - 1) == []


async def test_queued_events_read_and_delete_per_dag_and_asset(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await assets.record_events(client, KEYS, [_emit(A), _emit(B)], _try(), scripts)
    assert len(await assets.queued_events(client, KEYS, asset_id=2)) == 1
    assert await assets.delete_queued(client, KEYS, dag_id="both", asset_id=2) == 1
    assert [q.asset_name for q in await assets.queued_events(client, KEYS, "both")] == ["a"]
    assert await assets.delete_queued(client, KEYS, dag_id="both") == 1
    assert await assets.queued_events(client, KEYS) == []


async def test_a_consumer_run_is_created_once_from_its_queue(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    recorded = await assets.record_events(client, KEYS, [_emit(A), _emit(B)], _try(), scripts)
    run_id = "asset_triggered__2024-01-01T00:00:00+00:00_abcdefgh"
    call = CreateAssetRun(
        "both",
        run_id,
        1704067200.0,
        {"dag_id": "both", "run_id": run_id, "state": "queued", "run_type": "asset_triggered"},
        [queue_field("both", "a"), queue_field("both", "b")],
        [e["id"] for e in recorded],
        "2024-01-01T00:00:00+00:00",
    )
    assert await scripts.create_asset_run(call)
    assert not await scripts.create_asset_run(call)  # its queue is consumed
    assert await assets.queued_events(client, KEYS) == []
    assert (await client.hgetall(KEYS.run("both", run_id)))["run_type"] == "asset_triggered"
    linked = await assets.events_by_id(client, KEYS, [e["id"] for e in recorded])
    assert [e["created_dagruns"] for e in linked] == [[{"dag_id": "both", "run_id": run_id}]] * 2
    commands = [f for _, f in await client.xrange(KEYS.commands)]
    assert commands == [{"type": "run_created", "run": f"both|{run_id}"}]


async def test_ready_runs_wait_for_max_active_runs_and_take_events_up_to_their_queue_time(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """As Airflow 3.1.8's scheduler: a run's run_after is its queued rows' time (the first
    event's: a queued row keeps its time), and it takes the events after the previous
    asset-triggered run's run_after up to its own; a later event waits for the next run."""
    on_a = _consumer("on_a", {"asset": "a"})
    on_a["max_active_runs"] = 1
    await client.hset(KEYS.dags, "on_a", "hash")
    await assets.sync_dag(client, KEYS, "on_a", on_a)
    first = await assets.record_events(client, KEYS, [_emit(A)], _try(try_number=1), scripts)
    assert await create_ready_runs(client, KEYS, scripts, going={"on_a": 1}) == []
    second = await assets.record_events(client, KEYS, [_emit(A)], _try(try_number=2), scripts)
    (made,) = await create_ready_runs(client, KEYS, scripts, going={})
    assert made.ref.startswith("on_a|asset_triggered__")
    taken = orjson.loads(made.run_hash["asset_events"])
    assert [e["id"] for e in taken] == [first[0]["id"]]
    assert taken[0]["asset"] == {"name": "a", "uri": "s3://bucket/a", "extra": {}}
    third = await assets.record_events(client, KEYS, [_emit(A)], _try(try_number=3), scripts)
    (later,) = await create_ready_runs(client, KEYS, scripts, going={})
    taken = orjson.loads(later.run_hash["asset_events"])
    assert [e["id"] for e in taken] == [second[0]["id"], third[0]["id"]]
    await client.sadd(KEYS.paused, "on_a")
    await assets.record_events(client, KEYS, [_emit(A)], _try(try_number=4), scripts)
    assert await assets.queued_events(client, KEYS, dag_id="on_a") == []
