"""The asset step (queue/asset_step.py, scripts/asset_step.py) against the real redis-server:
a try's events and the runs they make ready in one script call, the run the full path would
make; and what it leaves to the full look (Redis not as planned), once per try, nothing
written for a stale asset record. Scripts are checked as in test_scripts.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from airlane.queue import assets
from airlane.queue.asset_records import AssetRecord, AssetRef, EmittedEvent, EventSource
from airlane.queue.asset_runs import create_ready_runs, triggering_refs
from airlane.queue.asset_step import Consumers, Known, Plan, Taken, plan, take
from airlane.queue.keys import Keys
from tests.integration.cluster import RedisServer
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
A = {"name": "a", "uri": "s3://bucket/a", "group": "asset", "extra": {}}
B = {"name": "b", "uri": "b", "group": "asset", "extra": {}}


def _consumer(dag_id: str, condition: dict[str, Any]) -> dict[str, Any]:
    schedule = {"kind": "assets", "expression": "", "condition": condition, "assets": [A, B]}
    return {"dag_id": dag_id, "schedule": schedule, "tasks": [{"task_id": "t"}]}


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    producer = {"dag_id": "producer", "tasks": [{"task_id": "make", "outlets": [A, B]}]}
    dags = [
        producer,
        _consumer("on_a", {"asset": "a"}),
        _consumer("both", {"all": [{"asset": "a"}, {"asset": "b"}]}),
    ]
    for dag in dags:
        await found.hset(KEYS.dags, dag["dag_id"], f"hash_{dag['dag_id']}")
        await assets.sync_dag(found, KEYS, dag["dag_id"], dag)
    yield found
    await found.aclose()


async def _known(client: aioredis.Redis, going: dict[str, int] | None = None) -> Known:
    raw = await client.hgetall(KEYS.assets)
    records = {n: (AssetRecord.from_json(orjson.loads(t)), t) for n, t in raw.items()}
    previous = await client.hgetall(KEYS.asset_triggered)
    deps = await assets.dag_assets(client, KEYS)
    return Known(deps, Consumers.of(deps), records, previous, going or {}, {})


def _try(try_number: int = 1) -> EventSource:
    return EventSource("producer", "run_1", "make", -1, try_number)


async def _step(
    client: aioredis.Redis, scripts: CheckedScripts, names: str, try_number: int = 1
) -> tuple[Plan, Taken]:
    emitted = [EmittedEvent(AssetRef(n, n), {"n": n}) for n in names]
    planned = plan(await _known(client), emitted, _try(try_number))
    assert planned is not None
    return planned, await take(scripts, planned)


async def test_one_call_records_queues_and_makes_the_run_the_full_path_makes(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    _, taken = await _step(client, scripts, "a")
    assert taken.done == 1
    assert taken.look
    ((run, content_hash),) = taken.made
    assert content_hash == "hash_on_a"
    dag_id, run_id = run.ref.split("|")
    stored = await client.hgetall(KEYS.run(dag_id, run_id))
    assert stored == run.run_hash
    (event,) = (await assets.events(client, KEYS, assets.EventFilter()))[0]
    assert orjson.loads(stored["asset_events"]) == triggering_refs([event])
    assert event["created_dagruns"] == [{"dag_id": "on_a", "run_id": run_id}]
    assert [q.dag_id for q in await assets.queued_events(client, KEYS)] == ["both"]
    assert await client.hget(KEYS.asset_triggered, "on_a") == stored["run_after"]
    assert await client.sismember(KEYS.active_runs, run.ref)
    assert await client.zscore(KEYS.runs_of("on_a"), run_id) is not None
    kinds = [f["kind"] for _, f in await client.xrange(KEYS.events)]
    assert kinds == ["asset", "run"]
    assert await client.xlen(KEYS.commands) == 0  # the coordinator starts it itself
    # the full path then makes the same run for "both" (b queued by the full path's recording)
    await assets.record_events(client, KEYS, [EmittedEvent(AssetRef("b", "b"))], _try(2))
    (full,) = await create_ready_runs(client, KEYS, scripts, going={}, announce=False)
    assert set(full.run_hash) == set(run.run_hash)
    assert full.run_hash["run_type"] == run.run_hash["run_type"] == "asset_triggered"


async def test_a_trys_events_are_recorded_once(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await _step(client, scripts, "a")
    _, again = await _step(client, scripts, "a")
    assert again == Taken(0)
    assert (await assets.events(client, KEYS, assets.EventFilter()))[1] == 1
    assert len(await client.zrange(KEYS.runs_of("on_a"), 0, -1)) == 1


async def test_a_changed_asset_record_writes_nothing(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    emitted = [EmittedEvent(AssetRef("a", "a"))]
    planned = plan(await _known(client), emitted, _try())
    assert planned is not None
    await assets.sync_dag(client, KEYS, "other", {"dag_id": "other", "tasks": [
        {"task_id": "t", "outlets": [{**A, "uri": "s3://bucket/moved"}]}
    ]})  # fmt: skip
    assert await take(scripts, planned) == Taken(-1)
    assert (await assets.events(client, KEYS, assets.EventFilter()))[1] == 0


async def test_a_consumer_not_as_planned_stays_queued_for_the_full_look(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """An event recorded while the consumer was paused was queued for nobody; the next run
    takes it too (Airflow's window: every event after the previous run), which the full look
    makes; a paused consumer is neither queued nor looked at."""
    await client.sadd(KEYS.paused, "on_a")
    _, paused = await _step(client, scripts, "a", try_number=1)
    assert paused.made == ()
    assert not paused.missed
    assert await assets.queued_events(client, KEYS, dag_id="on_a") == []
    await client.srem(KEYS.paused, "on_a")
    _, taken = await _step(client, scripts, "a", try_number=2)
    assert taken.made == ()
    assert taken.missed
    assert taken.look
    assert [q.dag_id for q in await assets.queued_events(client, KEYS, dag_id="on_a")] == ["on_a"]
    (full,) = [
        r
        for r in await create_ready_runs(client, KEYS, scripts, going={}, announce=False)
        if r.ref.startswith("on_a|")
    ]
    assert len(orjson.loads(full.run_hash["asset_events"])) == 2


async def test_the_previous_run_must_be_the_one_planned_and_max_active_runs_holds_back(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    emitted = [EmittedEvent(AssetRef("a", "a"))]
    planned = plan(await _known(client), emitted, _try())  # with no previous run
    assert planned is not None
    await client.hset(KEYS.asset_triggered, "on_a", "2020-01-01T00:00:00+00:00")
    taken = await take(scripts, planned)
    assert taken.missed
    assert taken.made == ()
    held = plan(await _known(client, going={"on_a": 16}), emitted, _try(2))
    assert held is not None
    assert [r.dag_id for r in held.step.runs] == []
