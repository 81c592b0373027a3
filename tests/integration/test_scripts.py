"""The Lua scripts on their own, against the real redis-server.

Every call here goes through :class:`CheckedScripts`: a key touched outside KEYS, or KEYS in
more than one cluster slot, fails the test.
"""

from __future__ import annotations

import orjson
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.queue.keys import WORKER_GROUP, Keys, run_ref, ti_field
from airlane.queue.scripts import (
    Apply,
    Batch,
    Claim,
    ClaimMany,
    CreateRun,
    Finish,
    FinishMany,
    Renew,
    StreamRead,
)
from airlane.queue.scripts.apply import shared_entry
from airlane.queue.scripts.wire import KeyTable
from tests.integration.script_checks import CheckedScripts, checked, slots

KEYS = Keys()
DAG, RUN, TASK = "d", "r", "t"
STREAM = KEYS.queue("default")


async def _queued(client: aioredis.Redis, try_number: int = 1, run_id: str = RUN) -> None:
    record = {"state": "queued", "try_number": try_number}
    await client.hset(KEYS.tis(DAG, run_id), ti_field(TASK, -1), orjson.dumps(record).decode())


def _claim(worker: str, ref: str, try_number: int = 1, run_id: str = RUN) -> ClaimMany:
    return ClaimMany(worker, 1.0, (Claim(DAG, run_id, TASK, -1, try_number, ref),))


async def _events(client: aioredis.Redis, kind: str) -> list[dict[str, str]]:
    return [f for _, f in await client.xrange(KEYS.completions) if f["kind"] == kind]


# ---- the checks themselves ------------------------------------------------------------------


async def test_the_check_refuses_a_key_outside_keys(client: aioredis.Redis) -> None:
    sneaky = client.register_script(checked("return redis.call('GET', ARGV[1])"))
    with pytest.raises(ResponseError, match="UNDECLARED"):
        await sneaky(keys=[KEYS.lease], args=[KEYS.coordinator_beat])
    assert (
        await client.register_script(checked("return redis.call('GET', KEYS[1])"))(
            keys=[KEYS.lease]
        )
        is None
    )


def test_every_key_shares_the_prefix_slot() -> None:
    keys = [KEYS.completions, KEYS.worker_tasks("w"), KEYS.tis("a", "b"), STREAM]
    keys += [KEYS.log("x", "y", "t", 3, 2), KEYS.xcom("p", "q", "t"), KEYS.lease]
    assert len(slots(keys)) == 1
    assert len(slots([Keys("p:").tis("a", "b"), Keys("p:").lease])) == 2  # untagged: no


# ---- claim_many -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "claimed"),
    [
        ('{"state":"queued","try_number":2}', True),  # as codec.encode_ti writes it
        ('{"try_number":2,"state":"queued"}', True),  # keys in any order (cjson.encode)
        ('{"state": "queued", "try_number": 2}', True),
        ('{"state":"queued","try_number":2.5}', False),
        ('{"state":"queued","try_number":1}', False),
        ('{"state":"running","try_number":2}', False),
        ('{"try_number":2,"state":"up_for_retry"}', False),
    ],
)
async def test_a_claim_reads_the_record_however_it_is_written(
    client: aioredis.Redis, scripts: CheckedScripts, record: str, claimed: bool
) -> None:
    await client.hset(KEYS.tis(DAG, RUN), ti_field(TASK, -1), record)
    assert await scripts.claim_many(_claim("w1", "ref-1", try_number=2)) == [claimed]


async def test_a_claim_starts_the_try(client: aioredis.Redis, scripts: CheckedScripts) -> None:
    await _queued(client)
    assert await scripts.claim_many(_claim("w1", "ref-1")) == [True]
    assert await client.hget(KEYS.claims(DAG, RUN), ti_field(TASK, -1)) == "1"
    assert await client.smembers(KEYS.worker_tasks("w1")) == {"ref-1"}
    [started] = await _events(client, "started")
    assert started == {
        "kind": "started",
        "run": run_ref(DAG, RUN),
        "ti": ti_field(TASK, -1),
        "try": "1",
        "worker": "w1",
        "at": "1.0",
    }


async def test_a_claim_asked_again_by_its_worker_still_holds(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """A claim whose reply a dropped connection lost is retried: the worker keeps its try (it
    was lost to everybody before), and nobody else gets it."""
    await _queued(client)
    assert await scripts.claim_many(_claim("w1", "ref-1")) == [True]
    assert await scripts.claim_many(_claim("w1", "ref-1")) == [True]  # the same call, retried
    assert await scripts.claim_many(_claim("w2", "ref-2")) == [False]  # a duplicate delivery
    assert await scripts.claim_many(_claim("w1", "ref-other")) == [False]  # another message
    assert len(await _events(client, "started")) == 1
    assert await client.smembers(KEYS.worker_tasks("w2")) == set()


async def test_a_stale_try_is_not_claimed(client: aioredis.Redis, scripts: CheckedScripts) -> None:
    """The message of try 1 arrives after the instance moved on to try 2 (or is not queued)."""
    await _queued(client, try_number=2)
    assert await scripts.claim_many(_claim("w1", "old", try_number=1)) == [False]
    assert await scripts.claim_many(_claim("w1", "ahead", try_number=3)) == [False]
    running = {"state": "running", "try_number": 2}
    await client.hset(KEYS.tis(DAG, RUN), ti_field(TASK, -1), orjson.dumps(running).decode())
    assert await scripts.claim_many(_claim("w1", "late", try_number=2)) == [False]
    assert await scripts.claim_many(_claim("w1", "gone", run_id="no-such-run")) == [False]
    assert await _events(client, "started") == []


async def test_one_call_claims_tries_of_several_runs(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    for run_id in ("r1", "r2"):
        await _queued(client, run_id=run_id)
    runs = enumerate(("r1", "r2", "r1"))  # the last: a second message of r1's try
    claims = tuple(Claim(DAG, r, TASK, -1, 1, f"ref-{i}") for i, r in runs)
    wire = ClaimMany("w1", 1.0, claims).encode(KEYS)
    assert len(wire.keys) == 2 + 2 * 2  # each run's keys once
    assert await scripts.claim_many(ClaimMany("w1", 1.0, claims)) == [True, True, False]


# ---- finish_many ----------------------------------------------------------------------------


async def _delivered(client: aioredis.Redis, worker: str) -> str:
    """A task message of STREAM, read by ``worker`` and not acknowledged: its id."""
    await client.xgroup_create(STREAM, WORKER_GROUP, id="0", mkstream=True)
    message_id: str = await client.xadd(STREAM, {"task": "t"})
    await client.xreadgroup(WORKER_GROUP, worker, {STREAM: ">"})
    return message_id


def _finish(message_id: str, try_number: int = 1, **extra: object) -> FinishMany:
    finish = Finish(
        STREAM,
        message_id,
        DAG,
        RUN,
        TASK,
        -1,
        try_number,
        outcome_json='{"state": "success"}',
        message_ref="ref-1",
        xcom_pairs=("-1|return_value", "42"),
        log_lines=("one", "two"),
        set_log_expiry=True,
        rendered_json='{"cmd": "echo"}',
        **extra,  # type: ignore[arg-type]
    )
    return FinishMany("w1", (finish,), log_maxlen=100, log_retention_s=60)


async def test_a_finish_reports_the_try(client: aioredis.Redis, scripts: CheckedScripts) -> None:
    await _queued(client)
    message_id = await _delivered(client, "w1")
    assert await scripts.claim_many(_claim("w1", "ref-1")) == [True]
    await scripts.finish_many(_finish(message_id))
    assert (await client.xpending(STREAM, WORKER_GROUP))["pending"] == 0
    assert await client.smembers(KEYS.worker_tasks("w1")) == set()
    log = KEYS.log(DAG, RUN, TASK, -1, 1)
    assert [f["line"] for _, f in await client.xrange(log)] == ["one", "two"]
    assert 0 < await client.ttl(log) <= 60
    assert await client.hgetall(KEYS.xcom(DAG, RUN, TASK)) == {"-1|return_value": "42"}
    assert await client.hget(KEYS.rendered(DAG, RUN), ti_field(TASK, -1)) == '{"cmd": "echo"}'
    [finished] = await _events(client, "finished")
    assert finished["outcome"] == '{"state": "success"}'
    assert (finished["run"], finished["ti"], finished["try"]) == ("d|r", "t|-1", "1")


async def test_a_finish_delivered_twice_changes_nothing_more(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """A finish retried after a dropped reply: the acknowledgement and XComs stand as they were;
    its completion comes again, which the coordinator knows for the same try's."""
    await _queued(client)
    message_id = await _delivered(client, "w1")
    await scripts.claim_many(_claim("w1", "ref-1"))
    await scripts.finish_many(_finish(message_id))
    await scripts.finish_many(_finish(message_id))
    assert (await client.xpending(STREAM, WORKER_GROUP))["pending"] == 0
    assert await client.hgetall(KEYS.xcom(DAG, RUN, TASK)) == {"-1|return_value": "42"}
    assert {f["try"] for f in await _events(client, "finished")} == {"1"}


async def test_a_finish_whose_claim_is_stale_leaves_no_xcoms(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """Try 1 ends after try 2 was claimed (the coordinator gave up on it): its XComs and rendered
    fields would overwrite try 2's, so only its acknowledgement, logs and completion go."""
    await _queued(client)
    message_id = await _delivered(client, "w1")
    await scripts.claim_many(_claim("w1", "ref-1"))
    await _queued(client, try_number=2)
    assert await scripts.claim_many(_claim("w2", "ref-2", try_number=2)) == [True]
    await scripts.finish_many(_finish(message_id))
    assert await client.hgetall(KEYS.xcom(DAG, RUN, TASK)) == {}
    assert await client.hgetall(KEYS.rendered(DAG, RUN)) == {}
    assert (await client.xpending(STREAM, WORKER_GROUP))["pending"] == 0
    assert len(await client.xrange(KEYS.log(DAG, RUN, TASK, -1, 1))) == 2
    assert [f["try"] for f in await _events(client, "finished")] == ["1"]


# ---- apply and renew: the coordinator's lease -----------------------------------------------


def _batch() -> Batch:
    batch = Batch()
    batch.hset(KEYS.tis(DAG, RUN), "t|-1", "{}")
    batch.hset(KEYS.tis(DAG, RUN), "u|-1", "{}")
    batch.hdel(KEYS.tis(DAG, RUN), "u|-1")
    batch.xadd(KEYS.events, 100, {"kind": "run", "run": "d|r"})
    batch.sadd(KEYS.active_runs, "d|r")
    batch.srem(KEYS.active_runs, "gone")
    batch.zadd(KEYS.runs_of(DAG), 2.5, RUN)
    batch.zrem(KEYS.runs_of(DAG), "gone")
    batch.hincrbyfloat(KEYS.metrics, "hop_sum_s", 0.5)
    batch.delete(KEYS.claims(DAG, "old"))
    batch.expire(KEYS.log(DAG, RUN, TASK, -1, 1), 30)
    batch.hset_if_exists(KEYS.run(DAG, RUN), "deadline:0", "1.5")  # the run exists
    batch.hset_if_exists(KEYS.run(DAG, "deleted"), "deadline:0", "1.5")  # it does not
    return batch


async def test_apply_writes_the_batch_under_the_lease(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await client.set(KEYS.claims(DAG, "old"), "x")
    await client.hset(KEYS.run(DAG, RUN), "state", "queued")
    await scripts.apply(Apply("c1", 5000, _batch()))  # nobody held it: c1 takes it
    assert await client.hgetall(KEYS.run(DAG, RUN)) == {"state": "queued", "deadline:0": "1.5"}
    assert not await client.exists(KEYS.run(DAG, "deleted"))  # (no hash of one field made)
    assert await client.get(KEYS.lease) == "c1"
    assert await client.hgetall(KEYS.tis(DAG, RUN)) == {"t|-1": "{}"}
    assert [f for _, f in await client.xrange(KEYS.events)] == [{"kind": "run", "run": "d|r"}]
    assert await client.smembers(KEYS.active_runs) == {"d|r"}
    assert await client.zrange(KEYS.runs_of(DAG), 0, -1, withscores=True) == [(RUN, 2.5)]
    assert await client.hget(KEYS.metrics, "hop_sum_s") == "0.5"
    assert not await client.exists(KEYS.claims(DAG, "old"))
    await client.pexpire(KEYS.lease, 100)
    await scripts.apply(Apply("c1", 5000, Batch()))  # each call extends the lease
    assert await client.pttl(KEYS.lease) > 1000


async def test_apply_sends_shared_entries_and_repeated_values_once(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """What many operations share goes once (Q, N): Redis gets the same writes, in order."""
    batch = Batch()
    batch.hset_many(KEYS.tis(DAG, RUN), ["a", "same", "b", "other", "c", "same", "d", "same"])
    for own in ("1", "2"):
        batch.xadd_entry(STREAM, 100, shared_entry("m", "[", own, "]"))
    batch.xadd(STREAM, 100, {"plain": "x"})
    batch.xadd_entry(STREAM, 100, shared_entry("m", "[", "3", ",0]"))
    wired = orjson.loads(batch.wire(KeyTable(KEYS.lease)))
    assert [op[0] for op in wired] == ["N", "Q", "X", "Q"]
    await scripts.apply(Apply("c1", 5000, batch))
    records = await client.hgetall(KEYS.tis(DAG, RUN))
    assert records == {"a": "same", "b": "other", "c": "same", "d": "same"}
    entries = [f for _, f in await client.xrange(STREAM)]
    assert entries == [{"m": "[1]"}, {"m": "[2]"}, {"plain": "x"}, {"m": "[3,0]"}]


async def test_apply_writes_records_and_entries_sent_as_argv(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """V and G (records and entries as ARGV): the same writes, each stream's in order."""
    batch = Batch()
    batch.hset_many(KEYS.tis(DAG, RUN), ["a", '{"s":"x"}', "b", '{"s":"y"}'])
    batch.xadd(STREAM, 100, {"n": "1"})
    batch.xadd(KEYS.events, 100, {"e": "1"})
    batch.xadd(STREAM, 100, {"n": "2", "m": "x"})
    batch.expire(STREAM, 100)  # another write to the stream: the next XADDs group anew
    batch.xadd(STREAM, 100, {"n": "3"})
    batch.xadd(STREAM, 100, {"n": "4"})
    await scripts.apply(Apply("c1", 5000, batch))
    records = await client.hgetall(KEYS.tis(DAG, RUN))
    assert records == {"a": '{"s":"x"}', "b": '{"s":"y"}'}
    entries = [f for _, f in await client.xrange(STREAM)]
    assert entries == [{"n": "1"}, {"n": "2", "m": "x"}, {"n": "3"}, {"n": "4"}]
    assert [f for _, f in await client.xrange(KEYS.events)] == [{"e": "1"}]
    assert 0 < await client.ttl(STREAM) <= 100


async def test_apply_acknowledges_entries(client: aioredis.Redis, scripts: CheckedScripts) -> None:
    message_id = await _delivered(client, "c1")
    batch = Batch()
    batch.xack(STREAM, WORKER_GROUP, message_id)
    await scripts.apply(Apply("c1", 5000, batch))
    assert (await client.xpending(STREAM, WORKER_GROUP))["pending"] == 0


async def test_apply_is_refused_without_the_lease(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """Fencing: a coordinator whose lease another one took writes nothing."""
    await client.set(KEYS.lease, "c2", px=5000)
    with pytest.raises(ResponseError, match="NOLEASE"):
        await scripts.apply(Apply("c1", 5000, _batch()))
    assert await client.hgetall(KEYS.tis(DAG, RUN)) == {}
    assert await client.get(KEYS.lease) == "c2"


async def test_a_lapsed_lease_is_taken_back(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """A coordinator that stalled past its lease while nobody took it carries on."""
    await client.set(KEYS.lease, "c1", px=5000)
    assert await scripts.renew(Renew("c1", 5000))
    assert not await scripts.renew(Renew("c2", 5000))
    await client.delete(KEYS.lease)  # it lapsed
    assert await scripts.renew(Renew("c1", 5000))
    assert await client.get(KEYS.lease) == "c1"
    await client.delete(KEYS.lease)
    await scripts.apply(Apply("c1", 5000, _batch()))
    assert await client.get(KEYS.lease) == "c1"


def _read(client_group: str = "g") -> StreamRead:
    return StreamRead(client_group, "c", {KEYS.commands: ">"}, 10, None)


async def test_apply_then_read_writes_first_and_reads_in_the_same_call(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """The coordinator's pass: its writes, then its next read, in one round trip."""
    await client.xgroup_create(KEYS.commands, "g", id="0", mkstream=True)
    await client.xadd(KEYS.commands, {"before": "1"})
    batch = _batch()
    batch.xadd(KEYS.commands, 100, {"written": "1"})
    response = await scripts.apply_then_read(Apply("c1", 5000, batch), _read())
    assert [[f for _, f in entries] for _, entries in response] == [  # type: ignore[attr-defined]
        [{"before": "1"}, {"written": "1"}]
    ]
    assert await client.hgetall(KEYS.tis(DAG, RUN)) == {"t|-1": "{}"}
    # nothing new: an empty answer, as the client's xreadgroup gives
    assert await scripts.apply_then_read(Apply("c1", 5000, Batch()), _read()) == []


async def test_apply_then_read_refused_leaves_what_it_read_pending(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await client.xgroup_create(KEYS.commands, "g", id="0", mkstream=True)
    await client.xadd(KEYS.commands, {"before": "1"})
    await client.set(KEYS.lease, "c2", px=5000)
    with pytest.raises(ResponseError, match="NOLEASE"):
        await scripts.apply_then_read(Apply("c1", 5000, _batch()), _read())
    assert await client.hgetall(KEYS.tis(DAG, RUN)) == {}
    assert (await client.xpending(KEYS.commands, "g"))["pending"] == 1  # read again later


async def test_apply_then_read_loads_a_script_missing_from_the_cache(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await client.xgroup_create(KEYS.commands, "g", id="0", mkstream=True)
    await client.script_flush()  # (a restarted Redis)
    await client.xadd(KEYS.commands, {"before": "1"})
    response = await scripts.apply_then_read(Apply("c1", 5000, _batch()), _read())
    assert len(response[0][1]) == 1  # type: ignore[index]
    assert await client.hgetall(KEYS.tis(DAG, RUN)) == {"t|-1": "{}"}


# ---- create_run -----------------------------------------------------------------------------


def _create(run_id: str = RUN) -> CreateRun:
    return CreateRun(DAG, run_id, 2.0, {"dag_id": DAG, "run_id": run_id, "state": "queued"})


async def test_create_run_once(client: aioredis.Redis, scripts: CheckedScripts) -> None:
    with pytest.raises(ResponseError, match="NODAG"):
        await scripts.create_run(_create())
    await client.hset(KEYS.dags, DAG, "hash")
    await scripts.create_run(_create())
    assert (await client.hgetall(KEYS.run(DAG, RUN)))["state"] == "queued"
    assert await client.zrange(KEYS.runs_of(DAG), 0, -1, withscores=True) == [(RUN, 2.0)]
    assert await client.smembers(KEYS.active_runs) == {"d|r"}
    with pytest.raises(ResponseError, match="EXISTS"):  # the same request delivered twice
        await scripts.create_run(_create())
    assert [f for _, f in await client.xrange(KEYS.commands)] == [
        {"type": "run_created", "run": "d|r"}
    ]
    assert len(await client.xrange(KEYS.events)) == 1
