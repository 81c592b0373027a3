"""A consumer DAG's asset-triggered run, as Airflow 3.1's scheduler makes it
(``_create_dag_runs_asset_triggered``), from its queued events.

- Ready when the assets with a queued event satisfy its condition (AssetDagRunQueue rows).
- ``run_after``: the latest of those rows' times; no logical date or data interval in Airflow
  (Airlane's runs carry one: ``run_after`` for both, as its runs triggered without a logical
  date do); run id ``asset_triggered__<run_after ISO>_<8 random letters or digits>``.
- The events it consumes: those of its assets (and of the assets its aliases resolved to)
  with a timestamp after its previous asset-triggered run's ``run_after`` and up to its own,
  oldest first; then every queued row of the DAG goes (the same step).
"""

from __future__ import annotations

import logging
import random
import string
import time
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.engine.asset_condition import evaluate
from airlane.queue import typed
from airlane.queue.asset_records import DagAssets, iso_us, parse_queue_field, queue_field
from airlane.queue.asset_registry import alias_targets, condition_refs
from airlane.queue.assets import AssetEvent, dag_assets, events_by_id
from airlane.queue.keys import Keys, parse_run_ref
from airlane.queue.scripts import CreateAssetRun, Scripts

log = logging.getLogger("airlane.assets")
RUN_TYPE = "asset_triggered"
_RANDOM = string.ascii_letters + string.digits


def asset_run_id(run_after: str) -> str:
    """Airflow's ``DagRun.generate_run_id`` for a run without a logical date."""
    suffix = "".join(random.choices(_RANDOM, k=8))
    return f"{RUN_TYPE}__{datetime.fromisoformat(run_after).isoformat()}_{suffix}"


@dataclass(frozen=True, slots=True)
class ReadyConsumer:
    dag_id: str
    run_after: str
    queue_fields: tuple[str, ...]


def queued_by_dag(raw: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Consumer dag_id -> {asset name: queued at}, from the ``asset_queue`` hash."""
    found: dict[str, dict[str, str]] = {}
    for text, at in raw.items():
        dag_id, name = parse_queue_field(text)
        found.setdefault(dag_id, {})[name] = at
    return found


def ready(
    dag: DagAssets, queued: Mapping[str, str], aliases: Mapping[str, Set[str]]
) -> ReadyConsumer | None:
    if dag.condition is None or not queued:
        return None
    if not evaluate(dag.condition, set(queued), aliases):
        return None
    run_after = max(queued.values(), key=iso_us)
    fields = tuple(queue_field(dag.dag_id, name) for name in sorted(queued))
    return ReadyConsumer(dag.dag_id, run_after, fields)


async def consumed_events(
    client: aioredis.Redis,
    keys: Keys,
    dag: DagAssets,
    aliases: Mapping[str, Set[str]],
    run_after: str,
    previous: str | None,
) -> list[AssetEvent]:
    """The events the consumer's run takes (see the module's description); ``previous``: the
    run_after of its previous asset-triggered run."""
    names, alias_names = condition_refs(dag.condition)
    wanted = sorted(names | {n for a in alias_names for n in aliases.get(a, ())})
    if not wanted:
        return []
    low = f"({iso_us(previous)}" if previous else "-inf"
    raws = await client.hmget(keys.assets, wanted)
    asset_ids = [int(orjson.loads(r)["id"]) for r in raws if r]
    async with client.pipeline(transaction=False) as pipe:
        for asset_id in asset_ids:
            pipe.zrangebyscore(keys.asset_events_of(asset_id), low, iso_us(run_after))
        found = await pipe.execute()
    ids = sorted({int(i) for members in found for i in members})
    events = await events_by_id(client, keys, ids)
    return sorted(events, key=lambda e: (iso_us(str(e["timestamp"])), int(e["id"])))


def triggering_refs(events: list[AssetEvent]) -> list[dict[str, Any]]:
    """The run's ``consumed_asset_events`` as its tasks read them (Airflow's
    AssetEventDagRunReference, with the event's id)."""
    return [
        {
            "id": e["id"],
            "asset": {"name": e["name"], "uri": e["uri"], "extra": e.get("asset_extra") or {}},
            "extra": e.get("extra") or {},
            "source_task_id": e.get("source_task_id"),
            "source_dag_id": e.get("source_dag_id"),
            "source_run_id": e.get("source_run_id"),
            "source_map_index": e.get("source_map_index"),
            "source_aliases": [{"name": a["name"]} for a in e.get("source_aliases") or ()],
            "timestamp": e["timestamp"],
        }
        for e in events
    ]


async def create_consumer_run(
    client: aioredis.Redis,
    keys: Keys,
    scripts: Scripts,
    dag: DagAssets,
    consumer: ReadyConsumer,
    aliases: Mapping[str, Set[str]],
    previous: str | None,
    announce: bool = True,
) -> str | None:
    """Create the consumer's run from its queued events: its ref, or None when they were
    consumed already (a restarted coordinator handling them again)."""
    events = await consumed_events(client, keys, dag, aliases, consumer.run_after, previous)
    run_id = asset_run_id(consumer.run_after)
    when = datetime.fromisoformat(consumer.run_after)
    run_hash = {
        "dag_id": dag.dag_id,
        "run_id": run_id,
        "state": "queued",
        "logical_date": when.isoformat(),
        "data_interval_start": when.isoformat(),
        "data_interval_end": when.isoformat(),
        "conf": "{}",
        "run_type": RUN_TYPE,
        "queued_at": repr(time.time()),
        "note": "",
        "run_after": when.isoformat(),
        "asset_events": orjson.dumps(triggering_refs(events)).decode(),
    }
    call = CreateAssetRun(
        dag.dag_id,
        run_id,
        when.timestamp(),
        run_hash,
        consumer.queue_fields,
        [int(e["id"]) for e in events],
        consumer.run_after,
        announce,
    )
    if not await scripts.create_asset_run(call):
        return None
    return f"{dag.dag_id}|{run_id}"


async def resolved_aliases(
    client: aioredis.Redis, keys: Keys, dags: Mapping[str, DagAssets]
) -> dict[str, set[str]]:
    names: set[str] = set()
    for dag in dags.values():
        names |= condition_refs(dag.condition)[1]
    return await alias_targets(client, keys, names)


async def _going_from_redis(client: aioredis.Redis, keys: Keys) -> dict[str, int]:
    going: dict[str, int] = {}
    for ref in await typed.smembers(client, keys.active_runs):
        dag_id = parse_run_ref(ref)[0]
        going[dag_id] = going.get(dag_id, 0) + 1
    return going


async def create_ready_runs(
    client: aioredis.Redis,
    keys: Keys,
    scripts: Scripts,
    deps: Mapping[str, DagAssets] | None = None,
    going: Mapping[str, int] | None = None,
    announce: bool = True,
) -> list[str]:
    """Create the run of every unpaused consumer whose queued events meet its condition and
    that is under its max_active_runs (as Airflow: otherwise its queue waits); the refs made.

    Safe from anywhere at any time (the coordinator after a try's events, the API after
    events it records): a queue is consumed by one run only. ``deps`` and ``going`` (runs
    going per DAG) are read from Redis when not given. ``announce``: False when the caller (the
    coordinator) activates the runs itself.
    """
    async with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.asset_queue)
        pipe.smembers(keys.paused)
        pipe.hgetall(keys.asset_triggered)
        raw_queue, paused, previous = await pipe.execute()
    queues = queued_by_dag(raw_queue)
    if not queues:
        return []
    deps = deps if deps is not None else await dag_assets(client, keys)
    consumers = {d: deps[d] for d in queues if d in deps and d not in paused}
    aliases = await resolved_aliases(client, keys, consumers)
    ready_ones = [
        (d, c)
        for d, c in ((d, ready(dag, queues[d], aliases)) for d, dag in consumers.items())
        if c
    ]
    if not ready_ones:
        return []
    going = going if going is not None else await _going_from_redis(client, keys)
    made = []
    for dag_id, consumer in ready_ones:
        dag = consumers[dag_id]
        if going.get(dag_id, 0) >= dag.max_active_runs > 0:
            continue
        try:
            ref = await create_consumer_run(
                client, keys, scripts, dag, consumer, aliases, previous.get(dag_id), announce
            )
        except ResponseError as err:  # NODAG: deleted meanwhile
            log.warning("no asset-triggered run of %s: %s", dag_id, err)
            continue
        if ref is not None:
            made.append(ref)
    return made
