"""FINISH_MANY's RUN_HERE against the real redis-server (Airflow's mini scheduler): the successor
the fast path queues is read and claimed for the worker that finished its upstream, in the same
script, as CLAIM_MANY would claim it; an older message read instead is left to a claim."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
import pytest
import redis.asyncio as aioredis

from airlane.engine.run_state import TaskOutcome
from airlane.queue.connection import connect
from airlane.queue.keys import WORKER_GROUP, Keys, run_ref, ti_field
from airlane.queue.messages import TaskMessage
from airlane.queue.protocol import ClaimRef
from airlane.queue.scripts import Claim, ClaimMany, Delivery, Scripts
from airlane.queue.scripts.finish import LINES_WHILE_CLAIMED
from airlane.sdk.state import TaskInstanceState
from airlane.service.worker import TaskIsolation, Worker, WorkerSettings
from airlane.service.worker.isolated_try import FinishedHere, IsolatedResult
from airlane.service.worker.log_writer import TaskLogWriter
from airlane.service.worker.tries import FinishedTry, RunningTry, claim_call, finish_call
from tests.integration.cluster import RedisServer
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
#: ids a ClaimRef's JSON must carry exactly as orjson writes them ("/" and DEL: cjson escapes)
DAG, RUN = "d", "manual__2026/12/06 \x7f é"
STREAM = KEYS.queue("default")


def _message(task_id: str, try_number: int = 1) -> TaskMessage:
    return TaskMessage(
        DAG, RUN, task_id, -1, try_number, 2, "/dags/d.py", "", "", "", "manual", "", 0.0
    )


async def _record(client: aioredis.Redis, task_id: str, state: str, try_number: int) -> None:
    record = {"state": state, "try_number": try_number, "max_tries": 2}
    await client.hset(KEYS.tis(DAG, RUN), ti_field(task_id, -1), orjson.dumps(record).decode())


async def _a_running(client: aioredis.Redis, scripts: CheckedScripts, worker: str) -> RunningTry:
    """A run where a is claimed by ``worker`` and b (a's successor in the plan) is fresh."""
    await client.hset(KEYS.run(DAG, RUN), "state", "running")
    plan = orjson.dumps([[ti_field("b", -1), []]]).decode()
    await client.hset(KEYS.fast_plan(DAG, RUN), ti_field("a", -1), plan)
    await _record(client, "a", "queued", 1)
    await _record(client, "b", "none", 0)
    await client.xgroup_create(STREAM, WORKER_GROUP, id="0", mkstream=True)
    message = _message("a")
    await client.xadd(STREAM, message.to_fields())
    [(_, [(message_id, _)])] = await client.xreadgroup(WORKER_GROUP, worker, {STREAM: ">"})
    ref = ClaimRef(STREAM, message_id, DAG, RUN, "a", -1, 1).encode()
    item = RunningTry(STREAM, message_id, message, ref)
    assert await scripts.claim_many(claim_call(worker, [item], 1.0)) == [True]
    return item


async def _finish(scripts: CheckedScripts, item: RunningTry, run_here: bool) -> Delivery | None:
    outcome = TaskOutcome(TaskInstanceState.SUCCESS, 1)
    done = FinishedTry(item, outcome, [], [], False, "")
    call = finish_call("w1", [done], 60, fast_path=True, run_here=run_here)
    [delivery] = await scripts.finish_many(call)
    return delivery


async def _completions(client: aioredis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(KEYS.completions)]


async def test_the_successor_is_claimed_for_the_finishing_worker(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    item = await _a_running(client, scripts, "w1")
    delivery = await _finish(scripts, item, run_here=True)
    assert delivery is not None
    assert delivery.claimed
    message = TaskMessage.from_fields(delivery.fields)
    assert (message.task_id, message.try_number, message.max_tries) == ("b", 1, 2)
    ref = ClaimRef(STREAM, delivery.message_id, DAG, RUN, "b", -1, 1).encode()
    assert delivery.ref == ref  # as the worker encodes it: its claim asked again holds
    assert await client.smembers(KEYS.worker_tasks("w1")) == {ref}
    assert await client.hget(KEYS.claims(DAG, RUN), ti_field("b", -1)) == "1"
    pending = await client.xpending_range(STREAM, WORKER_GROUP, "-", "+", 10, consumername="w1")
    assert [p["message_id"] for p in pending] == [delivery.message_id]
    assert await client.xreadgroup(WORKER_GROUP, "w2", {STREAM: ">"}) == []  # nobody else's
    *_, finished, started = await _completions(client)
    assert (finished["kind"], finished["ti"], finished["fast"]) == ("finished", "a|-1", "b|-1|1")
    assert (started["kind"], started["ti"], started["try"]) == ("started", "b|-1", "1")
    assert (started["run"], started["worker"]) == (run_ref(DAG, RUN), "w1")
    assert float(started["at"]) > 1.7e9  # Redis' clock
    again = ClaimMany("w1", 2.0, (Claim(DAG, RUN, "b", -1, 1, ref),))
    assert await scripts.claim_many(again) == [True]  # a recovered delivery runs
    assert len(await _completions(client)) == 3  # without a second start


async def test_an_older_message_is_read_but_not_claimed(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    item = await _a_running(client, scripts, "w1")
    older = await client.xadd(STREAM, _message("x").to_fields())
    delivery = await _finish(scripts, item, run_here=True)
    assert delivery is not None
    assert not delivery.claimed
    assert delivery.ref == ""
    assert delivery.message_id == older
    assert TaskMessage.from_fields(delivery.fields).task_id == "x"
    assert await client.smembers(KEYS.worker_tasks("w1")) == set()
    assert [f["kind"] for f in await _completions(client)] == ["started", "finished"]
    [(_, [(_, fields)])] = await client.xreadgroup(WORKER_GROUP, "w2", {STREAM: ">"})
    assert TaskMessage.from_fields(fields).task_id == "b"  # the successor waits for anyone


async def test_without_run_here_the_successor_waits_on_its_queue(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    item = await _a_running(client, scripts, "w1")
    assert await _finish(scripts, item, run_here=False) is None
    assert await client.hget(KEYS.claims(DAG, RUN), ti_field("b", -1)) is None
    [(_, [(_, fields)])] = await client.xreadgroup(WORKER_GROUP, "w2", {STREAM: ">"})
    assert TaskMessage.from_fields(fields).task_id == "b"


# ---- the worker's side: Worker._finish_many starts what the script claimed for it ----------


def _worker(url: str) -> Worker:
    settings = WorkerSettings(url, task_isolation=TaskIsolation.INLINE, fast_path=True)
    return Worker(settings, connect(url), KEYS)


async def _closed(worker: Worker) -> None:
    for task in worker.running:
        task.cancel()
    await asyncio.gather(*worker.running, return_exceptions=True)
    worker.sync_client.close()
    worker.heartbeat.client.close()
    await worker.client.aclose()


async def test_the_worker_runs_the_successor_without_a_claim_of_its_own(
    client: aioredis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = _worker(clean_redis.url)
    ran: list[tuple[str, bool]] = []
    refs: list[tuple[str, str]] = []
    claims: list[str] = []
    both = asyncio.Event()

    async def run_try(item: RunningTry, logs: object) -> IsolatedResult:
        # (claimed: it goes before the tries waiting for a task process, TaskPool.acquire;
        # held: it takes the process its upstream ran in, kept under the upstream's ref)
        msg = item.message
        ran.append((msg.task_id, item.claimed))
        refs.append((item.held, item.ref))
        if len(ran) == 2:
            both.set()
        return IsolatedResult(TaskOutcome(TaskInstanceState.SUCCESS, msg.try_number), [], "")

    async def claim(item: RunningTry) -> str | None:
        claims.append(item.message.task_id)
        return await Worker._claim(worker, item)

    monkeypatch.setattr(worker, "_run_try", run_try)
    monkeypatch.setattr(worker, "_claim", claim)
    try:
        item = await _a_running(client, worker.scripts, worker.worker_id)
        worker._start(item.stream, item.message_id, item.message.to_fields())  # a: asked again
        await asyncio.wait_for(both.wait(), 10)
        await asyncio.wait_for(worker.finishes.wait_idle(), 10)
        await asyncio.wait_for(asyncio.gather(*worker.running), 10)
    finally:
        await _closed(worker)
    assert ran == [("a", False), ("b", True)]
    assert claims == ["a"]  # b: claimed by a's finish
    (a_held, a_ref), (b_held, _) = refs
    assert a_held == ""
    assert a_ref
    assert b_held == a_ref  # b takes the process a's success kept for it
    events = [(f["kind"], f["ti"], f.get("worker")) for f in await _completions(client)]
    me = worker.worker_id
    assert events[-3:] == [
        ("finished", "a|-1", None),
        ("started", "b|-1", me),
        ("finished", "b|-1", None),
    ]
    assert await client.smembers(KEYS.worker_tasks(me)) == set()
    assert worker.heartbeat.refs == ()


async def test_a_stopping_worker_hands_the_successor_back(
    client: aioredis.Redis, clean_redis: RedisServer, scripts: CheckedScripts
) -> None:
    """The finish was sent before the drain began: what it claimed goes back, unrun (its try is
    not used up: the coordinator queues it again on the released event)."""
    worker = _worker(clean_redis.url)
    try:
        item = await _a_running(client, scripts, worker.worker_id)
        done = FinishedTry(item, TaskOutcome(TaskInstanceState.SUCCESS, 1), [], [], False, "")
        call = finish_call(worker.worker_id, [done], 60, fast_path=True, run_here=True)
        [delivery] = await scripts.finish_many(call)
        assert delivery is not None
        assert delivery.claimed
        worker._stopping = True
        await worker._run_here(delivery)
        assert not worker.running
    finally:
        await _closed(worker)
    await _handed_back_unrun(client, worker.worker_id)


async def _handed_back_unrun(client: aioredis.Redis, worker_id: str) -> None:
    """b went back unrun (its try not used up) and nothing of it stays the worker's."""
    released = (await _completions(client))[-1]
    assert (released["kind"], released["ti"], released["try"]) == ("released", "b|-1", "1")
    assert await client.smembers(KEYS.worker_tasks(worker_id)) == set()
    assert (await client.xpending(STREAM, WORKER_GROUP))["pending"] == 0


async def test_a_replayed_finish_says_so(client: aioredis.Redis, scripts: CheckedScripts) -> None:
    item = await _a_running(client, scripts, "w1")
    first = await _finish(scripts, item, run_here=True)
    assert first is not None
    assert first.claimed
    again = await _finish(scripts, item, run_here=True)  # the first answer was lost
    assert again is not None
    assert again.replayed


async def test_a_replayed_finish_starts_what_the_lost_answer_carried(
    client: aioredis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The successor the first call claimed for us waits in our pending list: the replay's
    answer has the worker start it at once (its claim, asked again, holds), not after it has
    been idle long enough for the coordinator to take it for lost."""
    worker = _worker(clean_redis.url)
    ran: list[str] = []
    b_ran = asyncio.Event()

    async def run_try(item: RunningTry, logs: object) -> IsolatedResult:
        msg = item.message
        ran.append(msg.task_id)
        b_ran.set()
        return IsolatedResult(TaskOutcome(TaskInstanceState.SUCCESS, msg.try_number), [], "")

    monkeypatch.setattr(worker, "_run_try", run_try)
    try:
        item = await _a_running(client, worker.scripts, worker.worker_id)
        done = FinishedTry(item, TaskOutcome(TaskInstanceState.SUCCESS, 1), [], [], False, "")
        call = finish_call(worker.worker_id, [done], 60, fast_path=True, run_here=True)
        await worker.scripts.finish_many(call)  # its answer is lost
        await worker._finish_many([done])  # the replay
        await asyncio.wait_for(b_ran.wait(), 10)
        await asyncio.wait_for(asyncio.gather(*worker.running), 10)
    finally:
        await _closed(worker)
    assert ran == ["b"]
    assert await client.smembers(KEYS.worker_tasks(worker.worker_id)) == set()


async def test_a_stop_waits_for_a_claimed_try_that_has_not_started_here(
    client: aioredis.Redis, clean_redis: RedisServer
) -> None:
    """The coordinator's stop for a try claimed for us (its message still in our pending list)
    stays until that try starts here; a stop for a try that is not ours goes."""
    worker = _worker(clean_redis.url)
    me = worker.worker_id
    claimed = ClaimRef(STREAM, "1-1", DAG, RUN, "b", -1, 1)
    stale = ClaimRef(STREAM, "1-2", DAG, RUN, "c", -1, 1)
    try:
        await client.sadd(KEYS.worker_tasks(me), claimed.encode())
        idents = {claimed.stop_ident.encode(), stale.stop_ident.encode()}
        await client.sadd(KEYS.worker_stop(me), *idents)
        await worker._stop_cleared()
    finally:
        await _closed(worker)
    assert await client.smembers(KEYS.worker_stop(me)) == {claimed.stop_ident.encode()}


# ---- the outcome's test: a plain success not written by codec.encode_outcome is decoded -------


async def _finish_with(
    scripts: CheckedScripts, item: RunningTry, outcome: dict[str, object]
) -> None:
    done = FinishedTry(item, TaskOutcome(TaskInstanceState.SUCCESS, 1), [], [], False, "")
    call = finish_call("w1", [done], 60, fast_path=True)
    finish = dataclasses.replace(call.finishes[0], outcome_json=orjson.dumps(outcome).decode())
    await scripts.finish_many(dataclasses.replace(call, finishes=(finish,)))


@pytest.mark.parametrize(
    ("outcome", "fast"),
    [
        ({"try_number": 1, "state": "success", "follow": None, "short_circuit": None}, True),
        ({"state": "success", "try_number": 1, "follow": ["x"], "short_circuit": None}, False),
        ({"state": "success", "short_circuit": "x", "follow": None}, False),
        ({"state": "failed", "try_number": 1, "follow": None, "short_circuit": None}, False),
    ],
)
async def test_the_outcome_decides_the_fast_path_in_any_key_order(
    client: aioredis.Redis, scripts: CheckedScripts, outcome: dict[str, object], fast: bool
) -> None:
    item = await _a_running(client, scripts, "w1")
    await _finish_with(scripts, item, outcome)
    *_, finished = await _completions(client)
    assert finished["outcome"] == orjson.dumps(outcome).decode()
    assert ("fast" in finished) is fast


# ---- a finish sent by the task process itself, with the try's whole log -------------------


async def _finish_whole_log(
    scripts: Scripts, item: RunningTry, lines: tuple[str, ...] = (), worker_id: str = "w1"
) -> Delivery | None:
    """As the try's task process finishes it (finish_here.py), in ``worker_id``'s name."""
    done = FinishedTry(item, TaskOutcome(TaskInstanceState.SUCCESS, 1), [], [], False, "")
    call = finish_call(worker_id, [done], 60, fast_path=True, run_here=True)
    finish = dataclasses.replace(
        call.finishes[0], log_lines=lines, set_log_expiry=True, whole_log=True
    )
    [delivery] = await scripts.finish_many(dataclasses.replace(call, finishes=(finish,)))
    return delivery


def _log_key(task_id: str) -> str:
    return KEYS.log(DAG, RUN, task_id, -1, 1)


async def _log(client: aioredis.Redis, task_id: str) -> list[str]:
    return [fields["line"] for _, fields in await client.xrange(_log_key(task_id))]


async def test_a_whole_log_finish_writes_the_log_and_claims_the_successor(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    item = await _a_running(client, scripts, "w1")
    delivery = await _finish_whole_log(scripts, item, ("[10:00:00] try 1 of a", "[10:00:00] hi"))
    assert delivery is not None
    assert delivery.claimed
    assert await _log(client, "a") == ["[10:00:00] try 1 of a", "[10:00:00] hi"]
    assert 0 < await client.ttl(_log_key("a")) <= 60
    assert [f["kind"] for f in await _completions(client)][-2:] == ["finished", "started"]


async def test_a_whole_log_finish_writes_the_lines_the_worker_has_not(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """The worker wrote the log's first line (its flush came first): the rest is written."""
    item = await _a_running(client, scripts, "w1")
    await client.xadd(_log_key("a"), {"line": "[10:00:00] try 1 of a"})
    delivery = await _finish_whole_log(scripts, item, ("[10:00:00] try 1 of a", "[10:00:01] hi"))
    assert delivery is not None
    assert delivery.claimed
    assert await _log(client, "a") == ["[10:00:00] try 1 of a", "[10:00:01] hi"]


async def test_a_whole_log_finish_is_refused_when_the_log_holds_more(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """The log holds more lines than the finish carries: nothing is written (the worker
    finishes the try)."""
    item = await _a_running(client, scripts, "w1")
    for line in ("[10:00:00] try 1 of a", "[10:00:00] hi", "[10:00:00] more"):
        await client.xadd(_log_key("a"), {"line": line})
    before = await _completions(client)
    delivery = await _finish_whole_log(scripts, item, ("[10:00:00] try 1 of a", "[10:00:00] hi"))
    assert delivery is not None
    assert delivery.refused
    assert len(await _log(client, "a")) == 3
    assert await _completions(client) == before
    assert await client.smembers(KEYS.worker_tasks("w1")) == {item.ref}
    assert (await client.xpending(STREAM, WORKER_GROUP))["pending"] == 1
    record = orjson.loads(await client.hget(KEYS.tis(DAG, RUN), ti_field("b", -1)))
    assert record["state"] == "none"
    # the worker's own finish goes through
    assert await _finish(scripts, item, run_here=True) is not None


async def test_the_workers_flush_writes_nothing_once_the_try_is_finished(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """LINES_WHILE_CLAIMED: lines go in while the claim is the worker's, not after the task
    process's finish wrote the whole log."""
    item = await _a_running(client, scripts, "w1")
    tasks = KEYS.worker_tasks("w1")
    args = (_log_key("a"), tasks, item.ref, 1000, 60)
    assert await client.eval(LINES_WHILE_CLAIMED, 2, *args, "[10:00:00] one") == 1
    assert await _log(client, "a") == ["[10:00:00] one"]
    await _finish(scripts, item, run_here=True)
    assert await client.eval(LINES_WHILE_CLAIMED, 2, *args, "[10:00:00] two") == 0
    assert await _log(client, "a") == ["[10:00:00] one"]


async def test_a_task_process_lost_after_its_own_finish_is_not_reported_failed(
    client: aioredis.Redis, clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task process finished a (its whole log, b claimed for the worker) and died before
    saying so: the worker finds a acknowledged, reports nothing, and starts b from its pending
    list (its claim, asked again, holds)."""
    worker = _worker(clean_redis.url)
    ran: list[str] = []
    b_ran = asyncio.Event()

    async def run_try(item: RunningTry, logs: object) -> IsolatedResult:
        ran.append(item.message.task_id)
        if item.message.task_id == "b":
            b_ran.set()
            return IsolatedResult(TaskOutcome(TaskInstanceState.SUCCESS, 1), [], "")
        delivery = await _finish_whole_log(worker.scripts, item, worker_id=worker.worker_id)
        assert delivery is not None
        assert delivery.claimed
        item.here = True  # as a request with ``here``; its process then died
        failed = TaskOutcome(TaskInstanceState.FAILED, 1, error="task process was killed")
        return IsolatedResult(failed, [], "", lost=True)

    monkeypatch.setattr(worker, "_run_try", run_try)
    try:
        item = await _a_running(client, worker.scripts, worker.worker_id)
        worker._start(item.stream, item.message_id, item.message.to_fields())
        await asyncio.wait_for(b_ran.wait(), 10)
        await asyncio.wait_for(asyncio.gather(*worker.running), 10)
        await asyncio.wait_for(worker.finishes.wait_idle(), 10)
    finally:
        await _closed(worker)
    assert ran == ["a", "b"]
    finished = [f for f in await _completions(client) if f["kind"] == "finished"]
    assert [(f["ti"], orjson.loads(f["outcome"])["state"]) for f in finished] == [
        ("a|-1", "success"),
        ("b|-1", "success"),
    ]


async def test_a_stopping_worker_hands_back_a_successor_started_in_place(
    client: aioredis.Redis, clean_redis: RedisServer
) -> None:
    """The task process finished a and started b, claimed for the worker, as the worker began
    to drain: b goes back unrun (its try not used up), and nothing of it stays the worker's."""
    worker = _worker(clean_redis.url)
    try:
        item = await _a_running(client, worker.scripts, worker.worker_id)
        delivery = await _finish_whole_log(worker.scripts, item, worker_id=worker.worker_id)
        assert delivery is not None
        assert delivery.claimed
        worker._stopping = True
        logs = TaskLogWriter(client, _log_key("a"), 60)
        await worker._finished_here(item, logs, FinishedHere(delivery, "[10:00:00] try 1 of b"))
        assert not worker.running
    finally:
        await _closed(worker)
    await _handed_back_unrun(client, worker.worker_id)
