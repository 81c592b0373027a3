"""The stale-trigger race, its Redis steps driven by hand (no timing): a try still running when
its instance is cleared (or marked, or its run ends) defers. Its finish used to store its trigger
until the coordinator read the completion and forgot the deferral; a triggerer could claim the
trigger meanwhile and fire it, resuming a try the coordinator had moved on from. Now the finish
stores no deferral of a try that is no longer its instance's current one, and the coordinator's
move forgets a deferral that landed before it, in the same write: the trigger resumes nothing
and its triggerer cancels it at its next renewal."""

from __future__ import annotations

import orjson
import redis.asyncio as aioredis

from airlane.queue.keys import WORKER_GROUP, Keys, deferred_field, ti_field
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
)
from airlane.service.execution.deferral import Deferral
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
DAG, RUN, TASK = "d", "r", "a"
STREAM = KEYS.queue("default")
FIELD = deferred_field(DAG, RUN, TASK, -1)
DEFERRAL = Deferral("k1", "my.Trigger", '{"x": 1}', "done", "{}", 50.0)


async def _record(client: aioredis.Redis, state: str, try_number: int) -> None:
    record = orjson.dumps({"state": state, "try_number": try_number}).decode()
    await client.hset(KEYS.tis(DAG, RUN), ti_field(TASK, -1), record)


async def _claimed(client: aioredis.Redis, scripts: CheckedScripts) -> str:
    """Try 1 queued, delivered to worker w1 and claimed (it starts); its message id."""
    await _record(client, "queued", 1)
    await client.xgroup_create(STREAM, WORKER_GROUP, id="0", mkstream=True)
    message_id: str = await client.xadd(STREAM, {"task": TASK})
    await client.xreadgroup(WORKER_GROUP, "w1", {STREAM: ">"})
    claim = ClaimMany("w1", 1.0, (Claim(DAG, RUN, TASK, -1, 1, "ref-1"),))
    assert await scripts.claim_many(claim) == [True]
    return message_id


async def _finish_deferred(scripts: CheckedScripts, message_id: str) -> None:
    finish = Finish(
        STREAM,
        message_id,
        DAG,
        RUN,
        TASK,
        -1,
        1,
        outcome_json='{"state": "deferred"}',
        message_ref="ref-1",
        deferral_json=DEFERRAL.to_json(),
    )
    await scripts.finish_many(FinishMany("w1", (finish,), 100, 60))


async def _cleared(scripts: CheckedScripts) -> None:
    """The coordinator's write of the clear: try 2 scheduled, try 1's deferral forgotten."""
    batch = Batch()
    batch.hset(KEYS.tis(DAG, RUN), ti_field(TASK, -1), '{"state": "scheduled", "try_number": 2}')
    batch.forget_deferral(KEYS.deferred, KEYS.trigger_timeouts, FIELD, 1)
    await scripts.apply(Apply("c1", 5000, batch))


async def _resumed(client: aioredis.Redis) -> list[str]:
    return [f["try"] for _, f in await client.xrange(KEYS.completions) if f["kind"] == "resumed"]


async def test_a_deferral_landing_after_the_clear_stores_no_trigger(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    message_id = await _claimed(client, scripts)
    await _cleared(scripts)  # try 2 not claimed yet: try 1's claim still stands
    await _finish_deferred(scripts, message_id)
    assert await client.hlen(KEYS.triggers) == 0
    assert await client.hlen(KEYS.deferred) == 0
    assert await client.zcard(KEYS.trigger_timeouts) == 0
    assert await scripts.claim_triggers(ClaimTriggers("t1", 1000, 1000, 100)) == []
    assert await scripts.fire_triggers(FireTriggers("t1", (Fire("k1", '"e"'),))) == 0
    assert await _resumed(client) == []
    kinds = [f["kind"] for _, f in await client.xrange(KEYS.completions)]
    assert kinds == ["started", "finished"]  # the coordinator still hears how it ended


async def test_a_trigger_claimed_before_the_clear_resumes_nothing_and_is_cancelled(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    message_id = await _claimed(client, scripts)
    await _finish_deferred(scripts, message_id)
    claimed = await scripts.claim_triggers(ClaimTriggers("t1", 1000, 1000, 100))
    assert [k for k, _, _ in claimed] == ["k1"]  # the window: held by a triggerer
    await _cleared(scripts)
    assert await client.hlen(KEYS.deferred) == 0
    assert await client.zcard(KEYS.trigger_timeouts) == 0
    assert await scripts.fire_triggers(FireTriggers("t1", (Fire("k1", '"e"'),))) == 0
    assert await _resumed(client) == []
    assert await client.hlen(KEYS.resumes) == 0
    await _finish_deferred(scripts, message_id)  # a replay of the finish stores nothing again
    renewed = await scripts.renew_triggers(RenewTriggers("t1", 1100, 1000, ("k1",), "{}"))
    assert renewed == ["k1"]  # its triggerer cancels it
    assert await client.hlen(KEYS.triggers) == 0
