"""Human-in-the-loop details on Redis (``hitl:{run}``, ``hitl_responses:{run}``, ``hitl_runs``).

The worker's try writes the request (``service/execution/redis_hitl.py``); the API reads
details and writes a person's answer here, then adds a notice to ``hitl_answers``: the
trigger the try deferred on reads it in the triggerer and fires at once. The first response
of a try wins (HSETNX), whether a person's or the defaults taken after its timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.keys import Keys, parse_run_ref, parse_ti_field, run_ref, ti_field
from airlane.queue.store import Store
from airlane.sdk.hitl_detail import HITLDetail, HITLIdent, HITLRequest, HITLResponse

#: notices kept in ``hitl_answers`` (a triggerer reads them as they come)
ANSWERS_MAXLEN = 10_000

#: a run's details: (task_id, map_index) -> detail
RunDetails = dict[tuple[str, int], HITLDetail]


def decode_detail(raw_request: str, raw_response: str | None) -> HITLDetail | None:
    """A stored detail; None when unreadable (written by another version)."""
    try:
        request = HITLRequest.from_json(orjson.loads(raw_request))
        response = HITLResponse.from_json(orjson.loads(raw_response)) if raw_response else None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if response is not None and response.try_number != request.try_number:
        response = None  # an answer to an earlier try
    return HITLDetail(request, response)


def encode(value: HITLRequest | HITLResponse) -> str:
    return orjson.dumps(value.to_json()).decode()


def details_from(requests: Mapping[str, str], responses: Mapping[str, str]) -> RunDetails:
    found: RunDetails = {}
    for field_name, raw in requests.items():
        detail = decode_detail(raw, responses.get(field_name))
        if detail is not None:
            found[parse_ti_field(field_name)] = detail
    return found


async def run_details(client: aioredis.Redis, keys: Keys, dag_id: str, run_id: str) -> RunDetails:
    async with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.hitl(dag_id, run_id))
        pipe.hgetall(keys.hitl_responses(dag_id, run_id))
        requests, responses = await pipe.execute()
    return details_from(requests, responses)


async def hitl_run_refs(client: aioredis.Redis, keys: Keys) -> list[tuple[str, str]]:
    """(dag_id, run_id) of every run with HITL details."""
    return sorted(parse_run_ref(ref) for ref in await typed.smembers(client, keys.hitl_runs))


async def forget_run(client: aioredis.Redis, keys: Keys, dag_id: str, run_id: str) -> None:
    """Drop a run that is gone from the index."""
    await client.srem(keys.hitl_runs, run_ref(dag_id, run_id))


async def respond(store: Store, ident: HITLIdent, response: HITLResponse) -> bool:
    """Record a person's answer and fire the waiting try's trigger; False when one was there
    already."""
    key = store.keys.hitl_responses(ident.dag_id, ident.run_id)
    field_name = ti_field(ident.task_id, ident.map_index)
    raw = await typed.hget(store.client, key, field_name)
    if raw is not None:
        current = HITLResponse.from_json(orjson.loads(raw))
        if current.try_number == response.try_number:
            return False
        await store.client.hdel(key, field_name)  # an answer to an earlier try
    if not await store.client.hsetnx(key, field_name, encode(response)):
        return False
    await notify_answer(store.client, store.keys, ident)
    return True


def answer_notice(ident: HITLIdent) -> dict[str, str]:
    """The ``hitl_answers`` entry of an answer to ``ident``."""
    return {
        "run": run_ref(ident.dag_id, ident.run_id),
        "ti": ti_field(ident.task_id, ident.map_index),
    }


def parse_answer_notice(fields: Mapping[str, str]) -> HITLIdent:
    dag_id, run_id = parse_run_ref(fields["run"])
    return HITLIdent(dag_id, run_id, *parse_ti_field(fields["ti"]))


async def notify_answer(client: aioredis.Redis, keys: Keys, ident: HITLIdent) -> None:
    """Tell the triggerers that ``ident`` has an answer (its trigger fires on it)."""
    notice: dict[Any, Any] = dict(answer_notice(ident))
    await client.xadd(keys.hitl_answers, notice, maxlen=ANSWERS_MAXLEN)
