"""The deferral scripts against the real redis-server (keys checked as in test_scripts): a
deferred try's trigger stored and deduplicated, leases claimed, renewed and taken over, events
fired once, timeouts, and a cleared try no longer waited on."""

from __future__ import annotations

import orjson
import redis.asyncio as aioredis

from airlane.queue.keys import WORKER_GROUP, Keys, deferred_field, resume_field, ti_field
from airlane.queue.scripts import (
    Apply,
    Batch,
    Claim,
    ClaimMany,
    ClaimTriggers,
    Finish,
    FinishMany,
    Fire,
    FireTriggers,
    RenewTriggers,
    TimeOutDeferred,
)
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.deferral import Deferral, EndsHere, Resume
from airlane.service.triggerer.decisions import TIMEOUT_KWARGS_JSON
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
DAG, RUN = "d", "r"
STREAM = KEYS.queue("default")
DEFERRAL = Deferral("k1", "my.Trigger", '{"x": 1}', "done", '{"a": 2}', None)


async def _defer(
    client: aioredis.Redis, scripts: CheckedScripts, task: str, deferral: Deferral = DEFERRAL
) -> None:
    """Queue, deliver, claim and finish one try of ``task`` deferred on ``deferral``."""
    record = {"state": "queued", "try_number": 1}
    await client.hset(KEYS.tis(DAG, RUN), ti_field(task, -1), orjson.dumps(record).decode())
    await client.xgroup_create(STREAM, WORKER_GROUP, id="0", mkstream=True)
    message_id = await client.xadd(STREAM, {"task": task})
    await client.xreadgroup(WORKER_GROUP, "w1", {STREAM: ">"})
    claim = ClaimMany("w1", 1.0, (Claim(DAG, RUN, task, -1, 1, f"ref-{task}"),))
    assert await scripts.claim_many(claim) == [True]
    finish = Finish(
        STREAM,
        message_id,
        DAG,
        RUN,
        task,
        -1,
        1,
        outcome_json='{"state": "deferred"}',
        message_ref=f"ref-{task}",
        deferral_json=deferral.to_json(),
    )
    await scripts.finish_many(FinishMany("w1", (finish,), 100, 60))


async def _resumed(client: aioredis.Redis) -> list[str]:
    return [f["ti"] for _, f in await client.xrange(KEYS.completions) if f["kind"] == "resumed"]


def _claim(who: str, now_ms: int, lease_ms: int = 1000) -> ClaimTriggers:
    return ClaimTriggers(who, now_ms, lease_ms, 100)


async def test_identical_triggers_are_one_and_fire_once_for_every_waiter(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await _defer(client, scripts, "a")
    await client.delete(STREAM)
    await _defer(client, scripts, "b")
    assert await client.hlen(KEYS.triggers) == 1
    assert await scripts.claim_triggers(_claim("t1", 1000)) == [("k1", "my.Trigger", '{"x": 1}')]
    assert await scripts.claim_triggers(_claim("t2", 1500)) == []  # leased to t1
    fire = FireTriggers("t1", (Fire("k1", event_json='"payload"'),))
    assert await scripts.fire_triggers(fire) == 2
    assert sorted(await _resumed(client)) == ["a|-1", "b|-1"]
    raw = await client.hget(KEYS.resumes, resume_field(DAG, RUN, "a", -1, 1))
    assert raw is not None
    assert Resume.from_json(raw) == Resume("done", {"a": 2, "event": "payload"})
    assert await scripts.fire_triggers(fire) == 0  # fired once
    assert await client.hlen(KEYS.triggers) == 0
    assert await client.hlen(KEYS.deferred) == 0


async def test_a_lapsed_lease_is_taken_over_and_the_old_holder_cannot_fire(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await _defer(client, scripts, "a")
    assert await scripts.claim_triggers(_claim("t1", 1000))
    assert await scripts.claim_triggers(_claim("t2", 1999)) == []
    assert [k for k, _, _ in await scripts.claim_triggers(_claim("t2", 2001))] == ["k1"]
    assert await scripts.renew_triggers(RenewTriggers("t1", 2100, 1000, ("k1",), "{}")) == ["k1"]
    assert await scripts.fire_triggers(FireTriggers("t1", (Fire("k1", '"x"'),))) == 0
    assert await scripts.renew_triggers(RenewTriggers("t2", 2100, 1000, ("k1",), "{}")) == []
    assert await client.zscore(KEYS.trigger_leases, "k1") == 3100
    assert await scripts.fire_triggers(FireTriggers("t2", (Fire("k1", '"x"'),))) == 1


async def test_a_trigger_nobody_waits_on_is_dropped(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await _defer(client, scripts, "a")
    assert await scripts.claim_triggers(_claim("t1", 1000))
    await client.hdel(KEYS.deferred, deferred_field(DAG, RUN, "a", -1))  # the coordinator's clear
    assert await scripts.renew_triggers(RenewTriggers("t1", 1100, 1000, ("k1",), "{}")) == ["k1"]
    assert await client.hlen(KEYS.triggers) == 0
    assert await client.zcard(KEYS.trigger_leases) == 0


async def test_a_deferred_try_past_its_timeout_resumes_to_fail(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    timed = Deferral("k2", "my.Trigger", "{}", "done", "{}", 50.0)
    await _defer(client, scripts, "a", timed)
    assert await scripts.time_out_deferred(TimeOutDeferred(49.0, 10, TIMEOUT_KWARGS_JSON)) == 0
    assert await scripts.time_out_deferred(TimeOutDeferred(51.0, 10, TIMEOUT_KWARGS_JSON)) == 1
    assert await _resumed(client) == ["a|-1"]
    raw = await client.hget(KEYS.resumes, resume_field(DAG, RUN, "a", -1, 1))
    assert raw is not None
    assert Resume.from_json(raw) == Resume("__fail__", {"error": "Trigger timeout"})
    # its trigger no longer has a waiter: a claim drops it
    assert await scripts.claim_triggers(_claim("t1", 1000)) == []
    assert await client.hlen(KEYS.triggers) == 0


async def test_a_resumed_try_claims_its_resume(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    await _defer(client, scripts, "a")
    await scripts.claim_triggers(_claim("t1", 1000))
    await scripts.fire_triggers(FireTriggers("t1", (Fire("k1", '"e"'),)))
    # the coordinator queues the same try again (and lets it be claimed again)
    record = {"state": "queued", "try_number": 1}
    await client.hset(KEYS.tis(DAG, RUN), ti_field("a", -1), orjson.dumps(record).decode())
    await client.hdel(KEYS.claims(DAG, RUN), ti_field("a", -1))
    claim = ClaimMany("w2", 2.0, (Claim(DAG, RUN, "a", -1, 1, "ref-2", resumed=True),))
    [answer] = await scripts.claim_resuming(claim)
    assert answer is not None
    assert Resume.from_json(answer) == Resume("done", {"a": 2, "event": "e"})


def _status(at_s: float) -> str:
    return orjson.dumps({"running": 0, "capacity": 10, "at": at_s}).decode()


async def test_renewing_forgets_the_status_of_a_triggerer_dead_for_ten_leases(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """A SIGKILLed triggerer never removes its status: the others' renewals do."""
    now_ms, lease_ms = 1_000_000_000, 15_000  # forgotten after 10 leases: 150 s
    await client.hset(KEYS.triggerers, "dead", _status(now_ms / 1000 - 151))
    await client.hset(KEYS.triggerers, "late", _status(now_ms / 1000 - 149))
    await client.hset(KEYS.triggerers, "garbled", "not json")
    renew = RenewTriggers("t1", now_ms, lease_ms, (), _status(now_ms / 1000))
    assert await scripts.renew_triggers(renew) == []
    assert sorted(await client.hkeys(KEYS.triggerers)) == ["late", "t1"]


async def test_a_short_lease_does_not_forget_a_triggerer_within_a_minute(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    now_ms = 1_000_000_000
    await client.hset(KEYS.triggerers, "slow", _status(now_ms / 1000 - 59))
    await scripts.renew_triggers(RenewTriggers("t1", now_ms, 1000, (), _status(now_ms / 1000)))
    assert sorted(await client.hkeys(KEYS.triggerers)) == ["slow", "t1"]


async def test_a_replayed_finish_of_a_try_deferred_again_keeps_its_new_resume(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """A resumed try defers again and its finish is sent twice (the first reply lost); between
    the two its trigger fired: the replay keeps that resume and reports no second deferral."""
    await _defer(client, scripts, "a")
    await scripts.claim_triggers(_claim("t1", 1000))
    await scripts.fire_triggers(FireTriggers("t1", (Fire("k1", '"e"'),)))
    record = {"state": "queued", "try_number": 1}
    await client.hset(KEYS.tis(DAG, RUN), ti_field("a", -1), orjson.dumps(record).decode())
    await client.hdel(KEYS.claims(DAG, RUN), ti_field("a", -1))
    message_id = await client.xadd(STREAM, {"task": "a"})
    await client.xreadgroup(WORKER_GROUP, "w2", {STREAM: ">"})
    claim = ClaimMany("w2", 2.0, (Claim(DAG, RUN, "a", -1, 1, "ref-2", resumed=True),))
    assert await scripts.claim_resuming(claim) != [None]
    again = Deferral("k3", "my.Trigger", '{"x": 3}', "done", "{}", None)
    finish = Finish(
        STREAM,
        message_id,
        DAG,
        RUN,
        "a",
        -1,
        1,
        outcome_json='{"state": "deferred"}',
        message_ref="ref-2",
        deferral_json=again.to_json(),
        resumed=True,
    )
    call = FinishMany("w2", (finish,), 100, 60)
    await scripts.finish_many(call)
    assert await scripts.claim_triggers(_claim("t1", 1100)) == [("k3", "my.Trigger", '{"x": 3}')]
    assert await scripts.fire_triggers(FireTriggers("t1", (Fire("k3", '"f"'),))) == 1
    await scripts.finish_many(call)  # the replay
    raw = await client.hget(KEYS.resumes, resume_field(DAG, RUN, "a", -1, 1))
    assert raw is not None
    assert Resume.from_json(raw) == Resume("done", {"event": "f"})
    kinds = [f["kind"] for _, f in await client.xrange(KEYS.completions)]
    assert [k for k in kinds if k != "started"] == ["finished", "resumed", "finished", "resumed"]


async def test_a_late_deferral_is_forgotten_only_for_its_own_try(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """The coordinator drops the entry of a deferral that came after its instance moved on,
    unless the entry is by then another try's."""
    timed = Deferral("k2", "my.Trigger", "{}", "done", "{}", 50.0)
    await _defer(client, scripts, "a", timed)
    field = deferred_field(DAG, RUN, "a", -1)
    newer = Batch()
    newer.forget_deferral(KEYS.deferred, KEYS.trigger_timeouts, field, 2)
    await scripts.apply(Apply("c1", 5000, newer))
    assert await client.hexists(KEYS.deferred, field)
    assert await client.zscore(KEYS.trigger_timeouts, field) == 50.0
    own = Batch()
    own.forget_deferral(KEYS.deferred, KEYS.trigger_timeouts, field, 1)
    own.forget_deferral(KEYS.deferred, KEYS.trigger_timeouts, "d|r|gone|-1", 1)
    await scripts.apply(Apply("c1", 5000, own))
    assert await client.hlen(KEYS.deferred) == 0
    assert await client.zcard(KEYS.trigger_timeouts) == 0
    assert await scripts.claim_triggers(_claim("t1", 1000)) == []  # nobody waits: dropped


def _completions_of(entries: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    """ti field -> its ``end`` ("" for a try that resumes), of the ``resumed`` completions."""
    return {f["ti"]: f.get("end", "") for _, f in entries if f["kind"] == "resumed"}


async def test_a_try_ends_where_its_trigger_fired_as_its_deferral_allows(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """q 2 (a resume that only returns): a plain event ends it ``success``; q 1: only an end
    event ends it; q 0: it resumes on a worker whatever the event. An ended try leaves no
    ``resumes`` entry, no ``deferred`` entry and no timeout."""
    for task, q in (("any", EndsHere.ANY_EVENT), ("ends", EndsHere.END_EVENTS), ("none", 0)):
        timed = Deferral(f"k-{task}", "my.Trigger", "{}", "done", "{}", 50.0, EndsHere(q))
        await _defer(client, scripts, task, timed)
        await client.delete(STREAM)
    await scripts.claim_triggers(_claim("t1", 1000))
    plain = [Fire(f"k-{task}", event_json='"e"') for task in ("any", "ends", "none")]
    assert await scripts.fire_triggers(FireTriggers("t1", tuple(plain))) == 3
    ended = _completions_of(await client.xrange(KEYS.completions))
    assert ended == {"any|-1": "success", "ends|-1": "", "none|-1": ""}
    assert await client.hget(KEYS.resumes, resume_field(DAG, RUN, "any", -1, 1)) is None
    assert await client.hexists(KEYS.resumes, resume_field(DAG, RUN, "ends", -1, 1))
    assert await client.hlen(KEYS.deferred) == 0
    assert await client.zcard(KEYS.trigger_timeouts) == 0


async def test_an_end_event_ends_a_try_whose_task_has_no_callback(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    for task, q in (("ends", EndsHere.END_EVENTS), ("none", EndsHere.NOTHING)):
        await _defer(
            client, scripts, task, Deferral(f"k-{task}", "my.Trigger", "{}", "done", "{}", None, q)
        )
        await client.delete(STREAM)
    await scripts.claim_triggers(_claim("t1", 1000))
    fires = tuple(
        Fire(f"k-{task}", method="__end__", kwargs_json='{"state": "skipped"}', end_state="skipped")
        for task in ("ends", "none")
    )
    assert await scripts.fire_triggers(FireTriggers("t1", fires)) == 2
    ended = _completions_of(await client.xrange(KEYS.completions))
    assert ended == {"ends|-1": "skipped", "none|-1": ""}
    raw = await client.hget(KEYS.resumes, resume_field(DAG, RUN, "none", -1, 1))
    assert raw is not None
    assert Resume.from_json(raw).end_state() is TaskInstanceState.SKIPPED
