"""HAND_BACK against the real redis-server: a claimed try goes back unused, and a call whose
reply was lost, retried, writes no second release (which could free the try again while
another worker runs it)."""

from __future__ import annotations

import redis.asyncio as aioredis

from airlane.queue.keys import WORKER_GROUP, Keys
from airlane.queue.messages import STREAM_MAXLEN
from airlane.queue.protocol import ClaimRef, TryReleased
from airlane.queue.scripts import HandBack
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()
STREAM = KEYS.queue("default")


async def _claimed(client: aioredis.Redis, worker: str) -> HandBack:
    """A message read by ``worker`` whose try it holds (its ClaimRef in worker_tasks)."""
    await client.xgroup_create(STREAM, WORKER_GROUP, id="0", mkstream=True)
    await client.xadd(STREAM, {"m": "{}"})
    [(_, [(message_id, _)])] = await client.xreadgroup(WORKER_GROUP, worker, {STREAM: ">"})
    ref = ClaimRef(STREAM, message_id, "d", "r", "t", -1, 1).encode()
    await client.sadd(KEYS.worker_tasks(worker), ref)
    released = TryReleased.of("d", "r", "t", -1, 1).to_fields()
    return HandBack(worker, STREAM, WORKER_GROUP, message_id, ref, released, STREAM_MAXLEN)


async def _releases(client: aioredis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(KEYS.completions)]


async def test_a_hand_back_releases_the_try_once(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    call = await _claimed(client, "w1")
    assert await scripts.hand_back(call)
    assert await _releases(client) == [call.released]
    assert await client.smembers(KEYS.worker_tasks("w1")) == set()
    assert await client.xpending(STREAM, WORKER_GROUP) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }
    assert not await scripts.hand_back(call)  # retried after its reply was lost
    assert len(await _releases(client)) == 1


async def test_a_claim_taken_back_meanwhile_is_not_released(
    client: aioredis.Redis, scripts: CheckedScripts
) -> None:
    """The coordinator recovered the try (its worker looked dead): it decides that try."""
    call = await _claimed(client, "w1")
    await client.srem(KEYS.worker_tasks("w1"), call.message_ref)
    assert not await scripts.hand_back(call)
    assert await _releases(client) == []
