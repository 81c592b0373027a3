"""The Store on its own against the real redis-server, and a try's life through the scripts as
the coordinator and a worker write it, read back through the Store.

The scripts are checked as in test_scripts.py (keys in KEYS, one slot).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta, encode_ti
from airlane.queue.conf_limit import ConfTooLarge
from airlane.queue.keys import WORKER_GROUP, Keys, ti_field
from airlane.queue.protocol import InvalidRunId
from airlane.queue.scripts import Apply, Batch, Claim, ClaimMany, Finish, FinishMany
from airlane.queue.store import DagNotFound, RunExists, RunRequest, Store
from airlane.sdk.state import TaskInstanceState
from tests.integration.cluster import RedisServer
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
DAG, TASK = "etl", "load"
WHEN = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    await found.hset(KEYS.dags, DAG, "content-hash")
    yield found
    await found.aclose()


@pytest.fixture
def store(client: aioredis.Redis) -> Store:
    found = Store(client, KEYS, max_conf_bytes=1000)
    found.scripts = CheckedScripts.on(client, KEYS)
    return found


def _request(run_id: str = "manual_1", conf: dict[str, str] | None = None) -> RunRequest:
    return RunRequest(DAG, run_id, WHEN, WHEN, WHEN, conf or {"x": "1"}, note="hi")


async def _commands(client: aioredis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(KEYS.commands)]


# ---- runs -----------------------------------------------------------------------------------


async def test_a_run_is_created_queued_and_announced(client: aioredis.Redis, store: Store) -> None:
    await store.create_run(_request())
    run = await store.run(DAG, "manual_1")
    assert run is not None
    assert (run["state"], run["conf"], run["note"]) == ("queued", '{"x":"1"}', "hi")
    assert run["logical_date"] == WHEN.isoformat()
    assert await store.run_ids(DAG) == ["manual_1"]
    assert await store.active_run_refs() == {"etl|manual_1"}
    assert await _commands(client) == [{"type": "run_created", "run": "etl|manual_1"}]
    [(_, event)] = await client.xrange(KEYS.events)
    assert event == {"kind": "run", "run": "etl|manual_1", "state": "queued"}


async def test_a_run_request_delivered_twice_makes_one_run(
    client: aioredis.Redis, store: Store
) -> None:
    await store.create_run(_request())
    with pytest.raises(RunExists):
        await store.create_run(_request(conf={"x": "2"}))
    run = await store.run(DAG, "manual_1")
    assert run is not None
    assert run["conf"] == '{"x":"1"}'
    assert len(await _commands(client)) == 1


async def test_refused_runs_leave_nothing(client: aioredis.Redis, store: Store) -> None:
    with pytest.raises(DagNotFound):
        await store.create_run(RunRequest("nope", "r", WHEN, WHEN, WHEN, {}))
    with pytest.raises(InvalidRunId):
        await store.create_run(_request("a|b"))
    with pytest.raises(ConfTooLarge):
        await store.create_run(_request(conf={"x": "a" * 2000}))
    assert await store.run_count(DAG) == 0
    assert await client.keys(f"{KEYS.prefix}run:*") == []
    assert await _commands(client) == []


async def test_runs_are_listed_newest_first(store: Store) -> None:
    for day in (1, 3, 2):
        when = datetime(2024, 1, day, tzinfo=UTC)
        await store.create_run(RunRequest(DAG, f"r{day}", when, when, when, {}))
    assert await store.all_run_ids(DAG) == ["r3", "r2", "r1"]
    assert await store.run_page(DAG, 1, 1) == ["r2"]
    assert [run["run_id"] for run in await store.runs(DAG, ["r1", "gone", "r3"])] == ["r1", "r3"]


async def test_commands_reach_the_commands_stream(client: aioredis.Redis, store: Store) -> None:
    await store.clear(DAG, "r", ["a", "b"])
    await store.mark(DAG, "r", {"a|-1": "success", "b|-1": "failed"})
    await store.set_paused(DAG, True)
    await store.set_paused(DAG, False)
    with pytest.raises(DagNotFound):
        await store.set_paused("nope", True)
    assert await _commands(client) == [
        {"type": "clear", "run": "etl|r", "task_ids": '["a","b"]'},
        {"type": "mark", "run": "etl|r", "marks": '{"a|-1":"success","b|-1":"failed"}'},
        {"type": "paused", "dag_id": DAG},
        {"type": "unpaused", "dag_id": DAG},
    ]
    assert await store.paused_dags() == set()


async def test_pools_and_variables(store: Store) -> None:
    assert (await store.pools())["default_pool"]["slots"] == 128
    await store.set_pool("small", 2, "two")
    assert (await store.pools())["small"] == {"slots": 2, "description": "two"}
    assert await store.delete_pool("small")
    assert not await store.delete_pool("small")
    await store.set_variable("k", "v", None)
    assert await store.variable("k") == {"value": "v", "description": None}
    assert await store.delete_variable("k")
    assert await store.variables() == {}


# ---- a try's life, written by the scripts, read by the Store ---------------------------------


def _record(state: TaskInstanceState, try_number: int) -> str:
    return encode_ti(TIRecord(state, try_number=try_number, max_tries=2), TIMeta())


async def _queue(store: Store, owner: str, run_id: str, try_number: int) -> str:
    """Coordinator ``owner`` queues try ``try_number`` of the task: its message id."""
    batch = Batch()
    batch.hset(
        KEYS.tis(DAG, run_id), ti_field(TASK, -1), _record(TaskInstanceState.QUEUED, try_number)
    )
    await store.scripts.apply(Apply(owner, 5000, batch))
    return str(await store.client.xadd(KEYS.queue("default"), {"try": str(try_number)}))


async def _deliver(client: aioredis.Redis, worker: str) -> None:
    stream = KEYS.queue("default")
    await client.xreadgroup(WORKER_GROUP, worker, {stream: ">"})


def _finish(run_id: str, message_id: str, try_number: int, xcom: str) -> Finish:
    return Finish(
        KEYS.queue("default"),
        message_id,
        DAG,
        run_id,
        TASK,
        -1,
        try_number,
        outcome_json='{"state": "success"}',
        message_ref=f"ref-{message_id}",
        xcom_pairs=("-1|return_value", xcom),
        log_lines=(f"try {try_number}",),
        rendered_json=orjson.dumps({"try": try_number}).decode(),
    )


async def test_a_try_read_back_through_the_store(client: aioredis.Redis, store: Store) -> None:
    await store.create_run(_request("r"))
    await client.xgroup_create(KEYS.queue("default"), WORKER_GROUP, id="0", mkstream=True)
    first = await _queue(store, "c1", "r", 1)
    await _deliver(client, "w1")
    claim = Claim(DAG, "r", TASK, -1, 1, message_ref=f"ref-{first}")
    assert await store.scripts.claim_many(ClaimMany("w1", 1.0, (claim, claim))) == [True, True]
    # duplicate delivery: the same message handed to a second worker
    assert await store.scripts.claim_many(ClaimMany("w2", 1.0, (claim,))) == [False]
    finish = _finish("r", first, 1, '"one"')
    await store.scripts.finish_many(FinishMany("w1", (finish,), 100, 60))
    await store.scripts.finish_many(FinishMany("w1", (finish,), 100, 60))  # its retry
    batch = Batch()
    batch.hset(KEYS.tries(DAG, "r"), f"{TASK}|-1|1", '{"state": "failed"}')
    await store.scripts.apply(Apply("c1", 5000, batch))
    second = await _queue(store, "c1", "r", 2)
    assert await store.scripts.claim_many(
        ClaimMany("w2", 1.0, (Claim(DAG, "r", TASK, -1, 2, f"ref-{second}"),))
    ) == [True]
    assert await store.xcom(DAG, "r", TASK, -1, "return_value") == "one"
    assert await store.xcoms(DAG, "r", TASK, -1) == {"return_value": "one"}
    assert await store.log_lines(DAG, "r", TASK, -1, 1) == ["try 1", "try 1"]
    assert await store.rendered_fields(DAG, "r", TASK, -1) == {"try": 1}
    assert await store.earlier_tries(DAG, "r", TASK, -1) == {1: {"state": "failed"}}
    [(record, _)] = (await store.task_instances(DAG, "r")).values()
    assert (record.state, record.try_number) == ("queued", 2)
    [found] = await store.task_instances_of_runs(DAG, ["r"], {TASK}, unmapped=True)
    assert list(found) == [(TASK, -1)]


async def test_a_stale_coordinator_cannot_write(client: aioredis.Redis, store: Store) -> None:
    """Fencing: once c2 holds the lease, c1 (stalled past its own) writes nothing."""
    await store.create_run(_request("r"))
    await client.xgroup_create(KEYS.queue("default"), WORKER_GROUP, id="0", mkstream=True)
    await _queue(store, "c1", "r", 1)
    await client.set(KEYS.lease, "c2", px=5000)
    batch = Batch()
    batch.hset(KEYS.tis(DAG, "r"), ti_field(TASK, -1), _record(TaskInstanceState.FAILED, 1))
    with pytest.raises(ResponseError, match="NOLEASE"):
        await store.scripts.apply(Apply("c1", 5000, batch))
    [(record, _)] = (await store.task_instances(DAG, "r")).values()
    assert record.state == "queued"
    await store.scripts.apply(Apply("c2", 5000, batch))
    [(record, _)] = (await store.task_instances(DAG, "r")).values()
    assert record.state == "failed"


async def test_a_deleted_run_leaves_no_key(client: aioredis.Redis, store: Store) -> None:
    await store.create_run(_request("r"))
    await client.xgroup_create(KEYS.queue("default"), WORKER_GROUP, id="0", mkstream=True)
    message_id = await _queue(store, "c1", "r", 1)
    await _deliver(client, "w1")
    claim = Claim(DAG, "r", TASK, -1, 1, message_ref=f"ref-{message_id}")
    await store.scripts.claim_many(ClaimMany("w1", 1.0, (claim,)))
    finish = _finish("r", message_id, 1, '"one"')
    await store.scripts.finish_many(FinishMany("w1", (finish,), 100, 60))
    await store.delete_run(DAG, "r")
    assert await client.keys(f"*{{{DAG}|r}}*") == []
    assert await store.run_ids(DAG) == []
    assert await store.active_run_refs() == set()
