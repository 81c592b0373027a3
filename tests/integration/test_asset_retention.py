"""What leaves the asset store (queue/asset_retention.py) against the real redis-server: a run's
dedupe records and event links with the run (API delete and retention), a DAG's asset entries
with the DAG (another's stay), old events by ``db clean``'s cutoff (the registry stays), watcher
dedupe keys capped, job records by their heartbeat, DAG versions by ``db clean``. Each test has
its own key prefix on the session's server (no flush)."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from airlane.engine.run_state import TIRecord, TIState
from airlane.queue import assets, jobs
from airlane.queue.asset_records import AssetRef, EmittedEvent, EventSource, queue_field
from airlane.queue.asset_runs import create_ready_runs
from airlane.queue.asset_watchers import LeaseWatchers, WatcherLeases
from airlane.queue.codec import TIMeta, encode_ti
from airlane.queue.dag_admin import dag_versions, delete_dag
from airlane.queue.keys import Keys, ti_field
from airlane.queue.scripts import PendingEvent, RecordAssetEvents
from airlane.queue.store import Store
from airlane.service.retention import CleanRequest, RetentionDuty, clean_all
from tests.integration.cluster import RedisServer
from tests.integration.script_checks import CheckedScripts

A = {"name": "a", "uri": "s3://bucket/a", "group": "asset", "extra": {}}
_prefixes = itertools.count()


def _producer() -> dict[str, Any]:
    return {
        "dag_id": "producer",
        "schedule": {"kind": "none"},
        "tasks": [{"task_id": "make", "outlets": [A], "inlets": []}],
    }


def _consumer(dag_id: str) -> dict[str, Any]:
    schedule = {"kind": "assets", "expression": "", "condition": {"asset": "a"}, "assets": [A]}
    return {"dag_id": dag_id, "schedule": schedule, "tasks": [{"task_id": "t", "inlets": [A]}]}


@pytest.fixture
async def env(redis_server: RedisServer) -> AsyncIterator[tuple[aioredis.Redis, Keys]]:
    keys = Keys(f"{{asset_retention_{next(_prefixes)}_{time.time_ns()}}}:")
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    for dag in (_producer(), _consumer("one"), _consumer("two")):
        await client.hset(keys.dags, dag["dag_id"], "hash")
        await assets.sync_dag(client, keys, dag["dag_id"], dag)
    yield client, keys
    await client.aclose()


async def _finished_run(client: aioredis.Redis, keys: Keys, dag_id: str, run_id: str) -> None:
    """A finished run of one task at try 2, started long ago."""
    long_ago = repr(time.time() - 400 * 86400)
    await client.hset(
        keys.run(dag_id, run_id),
        mapping={"dag_id": dag_id, "run_id": run_id, "state": "success", "start_date": long_ago},
    )
    record = encode_ti(TIRecord(TIState.SUCCESS, try_number=2), TIMeta())
    await client.hset(keys.tis(dag_id, run_id), ti_field("make", -1), record)
    await client.zadd(keys.runs_of(dag_id), {run_id: 0.0})


async def _produce(client: aioredis.Redis, keys: Keys, scripts: CheckedScripts, n: int) -> int:
    source = EventSource("producer", "p1", "make", -1, n)
    (event,) = await assets.record_events(
        client, keys, [EmittedEvent(AssetRef.from_json(A))], source, scripts
    )
    return int(event["id"])


async def test_a_deleted_run_takes_its_dedupe_records_and_links(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    await _finished_run(client, keys, "producer", "p1")
    first = await _produce(client, keys, scripts, 1)
    await _produce(client, keys, scripts, 2)
    made = await create_ready_runs(client, keys, scripts, going={})
    assert sorted(r.ref.split("|")[0] for r in made) == ["one", "two"]
    links = await client.hget(keys.asset_event_runs, str(first))
    assert links is not None
    assert len(links.split("\n")) == 2
    assert await client.hlen(keys.asset_event_sources) == 2

    store = Store(client, keys)
    await store.delete_run("producer", "p1")  # the API's delete
    assert await client.hlen(keys.asset_event_sources) == 0
    one, two = (next(r.ref for r in made if r.ref.startswith(d)) for d in ("one|", "two|"))
    await store.delete_run(*one.split("|"))
    refs = [e["created_dagruns"] for e in await assets.events_by_id(client, keys, [first])]
    assert refs == [[{"dag_id": "two", "run_id": two.split("|")[1]}]]
    long_ago = repr(time.time() - 400 * 86400)
    finished = {"state": "success", "run_type": "manual", "start_date": long_ago}
    await client.hset(keys.run(*two.split("|")), mapping=finished)
    request = CleanRequest(before_s=time.time() + 10, dag_ids=frozenset({"two"}))
    assert (await clean_all(client, keys, request)).runs == [two]  # retention's removal
    assert await client.hget(keys.asset_event_runs, str(first)) is None
    assert len(await assets.events_by_id(client, keys, [first])) == 1  # events stay


async def test_retention_of_a_run_takes_its_dedupe_records(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    await _finished_run(client, keys, "producer", "p1")
    await _finished_run(client, keys, "producer", "p2")
    await client.hset(keys.run("producer", "p2"), "start_date", repr(time.time()))
    await _produce(client, keys, scripts, 2)
    removed = await clean_all(client, keys, CleanRequest(before_s=time.time() - 86400))
    assert removed.runs == ["producer|p1"]
    assert await client.hlen(keys.asset_event_sources) == 0


async def test_deleting_a_dag_takes_its_asset_entries_only(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    await _produce(client, keys, scripts, 1)
    assert sorted(await client.hkeys(keys.asset_queue)) == [
        queue_field("one", "a"),
        queue_field("two", "a"),
    ]
    await client.hset(keys.asset_triggered, mapping={"one": "x", "two": "y"})
    await delete_dag(Store(client, keys), "one")
    assert await client.hkeys(keys.asset_queue) == [queue_field("two", "a")]
    assert await client.hkeys(keys.asset_triggered) == ["two"]
    assert sorted(await client.hkeys(keys.asset_deps)) == ["producer", "two"]
    assert [a.name for a in await assets.assets(client, keys)] == ["a"]


async def test_db_clean_removes_old_events_with_their_links_and_keeps_the_registry(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    old_id = await _produce(client, keys, scripts, 1)
    await create_ready_runs(client, keys, scripts, going={})
    recent_id = await _produce(client, keys, scripts, 2)
    await create_ready_runs(client, keys, scripts, going={})
    long_ago_us = int((time.time() - 400 * 86400) * 1_000_000)
    await client.zadd(keys.asset_events_of(1), {str(old_id): long_ago_us})
    cutoff = time.time() - 86400
    elsewhere = CleanRequest(before_s=cutoff, dag_ids=frozenset({"other"}))
    assert (await clean_all(client, keys, elsewhere)).asset_events == 0
    dry = await clean_all(client, keys, CleanRequest(before_s=cutoff, dry_run=True))
    assert dry.asset_events == 1
    assert await client.hexists(keys.asset_events, str(old_id))
    done = await clean_all(client, keys, CleanRequest(before_s=cutoff))
    assert done.asset_events == 1
    for key in (keys.asset_events, keys.asset_event_runs):
        assert not await client.hexists(key, str(old_id))
    assert await client.hexists(keys.asset_event_runs, str(recent_id))
    assert await client.zrange(keys.asset_event_index, 0, -1) == [str(recent_id)]
    assert await client.zrange(keys.asset_events_of(1), 0, -1) == [str(recent_id)]
    assert [a.name for a in await assets.assets(client, keys)] == ["a"]


async def test_watcher_dedupe_keys_are_capped(env: tuple[aioredis.Redis, Keys]) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    for n in [4, 3, 2, 1, 0]:  # the order recorded decides, not the names
        call = RecordAssetEvents(f"watcher|w|{n}-0", [], outside=True, dedupe_max=3)
        assert (await scripts.record_asset_events(call))[0]
    kept = ["watcher|w|2-0", "watcher|w|1-0", "watcher|w|0-0"]
    assert sorted(await client.hkeys(keys.asset_event_sources)) == sorted(kept)
    assert await client.zrange(keys.asset_event_dedupe, 0, -1) == kept
    again = RecordAssetEvents("watcher|w|2-0", [], outside=True, dedupe_max=3)
    assert not (await scripts.record_asset_events(again))[0]  # still recognised
    source = EventSource(dedupe_key="watcher|w|9-0")
    emitted = [EmittedEvent(AssetRef.from_json(A))]
    assert len(await assets.record_events(client, keys, emitted, source, scripts)) == 1
    assert len(await assets.record_events(client, keys, emitted, source, scripts)) == 1
    assert await client.zcard(keys.asset_event_index) == 1  # recorded once
    assert await client.zcard(keys.asset_event_dedupe) == 4  # the default cap is far larger


async def test_db_clean_removes_job_records_silent_since_the_cutoff(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    now = time.time()
    for identity, beat in (("dead", now - 400 * 86400), ("live", now)):
        record = jobs.JobRecord(
            jobs.job_id_of(identity), identity, jobs.JobType.WORKER, "h", "u", 1, beat, beat
        )
        await jobs.save(client, keys, record)
    cutoff = now - 86400
    chosen = CleanRequest(before_s=cutoff, dag_ids=frozenset({"producer"}))
    assert (await clean_all(client, keys, chosen)).jobs == 0  # a job belongs to no DAG
    assert (await clean_all(client, keys, CleanRequest(before_s=cutoff))).jobs == 1
    assert [r.identity for r in await jobs.all_jobs(client, keys)] == ["live"]
    assert orjson.loads(await client.hget(keys.jobs, str(jobs.job_id_of("live"))) or "{}")


async def test_db_clean_removes_old_dag_versions_nothing_uses_and_keeps_numbers(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    store = Store(client, keys)
    old_s = time.time() - 400 * 86400
    for content_hash in ("h1", "h2", "h3", "h4"):
        await client.rpush(keys.dag_versions("v"), orjson.dumps({"h": content_hash, "at": old_s}))
    await client.hset(keys.dags, "v", "h4")
    await _finished_run(client, keys, "v", "r1")
    await client.hset(keys.run("v", "r1"), "dag_hash", "h2")
    request = CleanRequest(before_s=time.time() - 86400, dag_ids=frozenset({"v"}))
    assert (
        await clean_all(client, keys, CleanRequest(request.before_s, dry_run=True))
    ).dag_versions == 1
    assert (await clean_all(client, keys, request)).dag_versions == 1  # h2: run r1 uses it
    found = [(v.number, v.content_hash) for v in await dag_versions(store, "v")]
    assert found == [(2, "h2"), (3, "h3"), (4, "h4")]
    await client.hset(keys.run("v", "r1"), "dag_hash", "h4")
    assert (await clean_all(client, keys, request)).dag_versions == 2  # never the current one
    await client.rpush(keys.dag_versions("v"), orjson.dumps({"h": "h5", "at": time.time()}))
    found = [(v.number, v.content_hash) for v in await dag_versions(store, "v")]
    assert found == [(4, "h4"), (5, "h5")]


async def test_a_lapsed_lease_of_a_watcher_no_longer_wanted_goes(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    leases = WatcherLeases(client, keys)
    stop, taken = await leases.round(LeaseWatchers("t1", 1000, 500, 10, ["w", "x"], []))
    assert (stop, sorted(taken)) == ([], ["w", "x"])
    # t1 died; "w" is no longer wanted: t2's next round drops its lapsed lease, takes "x"
    assert await leases.round(LeaseWatchers("t2", 1600, 500, 10, ["x"], [])) == ([], ["x"])
    assert await client.zrange(keys.asset_watcher_leases, 0, -1) == ["x"]
    assert await client.hgetall(keys.asset_watcher_owners) == {"x": "t2"}


async def test_housekeeping_removes_old_events_and_silent_job_records(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    old_id = await _produce(client, keys, scripts, 1)
    recent_id = await _produce(client, keys, scripts, 2)
    long_ago_us = int((time.time() - 400 * 86400) * 1_000_000)
    await client.zadd(keys.asset_events_of(1), {str(old_id): long_ago_us})
    beat = time.time() - 2 * 86400
    silent = jobs.JobRecord(1, "gone", jobs.JobType.WORKER, "h", "u", 1, beat, beat)
    await jobs.save(client, keys, silent)
    off = RetentionDuty(client, keys, retention_s=0)
    assert await off.maybe_run(time.time()) == []
    assert await jobs.all_jobs(client, keys) == []  # job records go whatever the retention
    assert await client.zcard(keys.asset_event_index) == 2
    await RetentionDuty(client, keys, retention_s=30 * 86400).maybe_run(time.time())
    assert await client.zrange(keys.asset_event_index, 0, -1) == [str(recent_id)]


async def test_asset_entries_on_the_events_stream_are_capped(
    env: tuple[aioredis.Redis, Keys],
) -> None:
    client, keys = env
    scripts = CheckedScripts.on(client, keys)
    body = '"asset_id":1,"name":"a","timestamp":"2026-01-01T00:00:00+00:00"}'
    event = PendingEvent(body, 1, 1, "2026-01-01T00:00:00+00:00", [])
    await scripts.record_asset_events(RecordAssetEvents("", [event] * 400, events_maxlen=10))
    # approximate trimming (MAXLEN ~) drops whole stream nodes of 100 entries
    assert await client.xlen(keys.events) <= 110
