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
from collections.abc import Awaitable, Callable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.engine.dag_spec import DEFAULT_MAX_ACTIVE_RUNS
from airlane.queue import typed
from airlane.queue.asset_records import DagAssets, iso_us, parse_queue_field, queue_field
from airlane.queue.asset_registry import alias_targets, condition_refs
from airlane.queue.assets import AssetEvent, dag_assets, events_of
from airlane.queue.keys import Keys, parse_run_ref
from airlane.queue.scripts import CreateAssetRun, Scripts

log = logging.getLogger("airlane.assets")
RUN_TYPE = "asset_triggered"
_RANDOM = string.ascii_letters + string.digits


def condition_met(
    cond: Mapping[str, Any], queued: Set[str], aliases: Mapping[str, Set[str]]
) -> bool:
    """Whether the queued assets satisfy a condition tree (empty ``all``: yes; ``any``: no)."""
    if "asset" in cond:
        return str(cond["asset"]) in queued
    if "asset_uri" in cond:
        return str(cond["asset_uri"]) in queued
    if "alias" in cond:
        return any(name in queued for name in aliases.get(str(cond["alias"]), ()))
    if "all" in cond:
        return all(condition_met(c, queued, aliases) for c in cond["all"])
    return any(condition_met(c, queued, aliases) for c in cond.get("any") or ())


def asset_run_id(run_after: str) -> str:
    """Airflow's ``DagRun.generate_run_id`` for a run without a logical date."""
    suffix = "".join(random.choices(_RANDOM, k=8))
    return f"{RUN_TYPE}__{datetime.fromisoformat(run_after).isoformat()}_{suffix}"


@dataclass(frozen=True, slots=True)
class ReadyConsumer:
    dag_id: str
    run_after: str
    queue_fields: tuple[str, ...]


async def queued_by_dag(client: aioredis.Redis, keys: Keys) -> dict[str, dict[str, str]]:
    """Consumer dag_id -> {asset name: queued at}."""
    found: dict[str, dict[str, str]] = {}
    for text, at in (await typed.hgetall(client, keys.asset_queue)).items():
        dag_id, name = parse_queue_field(text)
        found.setdefault(dag_id, {})[name] = at
    return found


def ready(
    dag: DagAssets, queued: Mapping[str, str], aliases: Mapping[str, Set[str]]
) -> ReadyConsumer | None:
    if dag.condition is None or not queued:
        return None
    if not condition_met(dag.condition, set(queued), aliases):
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
) -> list[AssetEvent]:
    """The events the consumer's run takes (see the module's description)."""
    names, alias_names = condition_refs(dag.condition)
    previous = await typed.hget(client, keys.asset_triggered, dag.dag_id)
    after_us = iso_us(previous) if previous else None
    until_us = iso_us(run_after)
    through_alias = {n for a in alias_names for n in aliases.get(a, ())}
    ids = await _asset_ids(client, keys, names | through_alias)
    found: list[AssetEvent] = []
    for asset_id in ids.values():
        found += await events_of(client, keys, asset_id, after_us, until_us)
    return sorted(found, key=lambda e: (iso_us(str(e["timestamp"])), int(e["id"])))


async def _asset_ids(client: aioredis.Redis, keys: Keys, names: Set[str]) -> dict[str, int]:
    wanted = sorted(names)
    if not wanted:
        return {}
    raws = await client.hmget(keys.assets, wanted)
    return {n: int(orjson.loads(r)["id"]) for n, r in zip(wanted, raws, strict=True) if r}


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
) -> str | None:
    """Create the consumer's run from its queued events: its ref, or None when they were
    consumed already (a restarted coordinator handling them again)."""
    events = await consumed_events(client, keys, dag, aliases, consumer.run_after)
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


async def _limit_from_redis(client: aioredis.Redis, keys: Keys, dag_id: str) -> int:
    content_hash = await typed.hget(client, keys.dags, dag_id)
    raw = await typed.get(client, keys.dag_snapshot(content_hash)) if content_hash else None
    limit = orjson.loads(raw).get("max_active_runs") if raw else None
    return limit if isinstance(limit, int) else DEFAULT_MAX_ACTIVE_RUNS


async def create_ready_runs(
    client: aioredis.Redis,
    keys: Keys,
    scripts: Scripts,
    deps: Mapping[str, DagAssets] | None = None,
    going: Mapping[str, int] | None = None,
    limits: Callable[[str], Awaitable[int]] | None = None,
) -> list[str]:
    """Create the run of every unpaused consumer whose queued events meet its condition and
    that is under its max_active_runs (as Airflow: otherwise its queue waits); the refs made.

    Safe from anywhere at any time (the coordinator after a try's events, the API after
    events it records): a queue is consumed by one run only. ``deps``, ``going`` (runs going
    per DAG) and ``limits`` (a DAG's max_active_runs) are read from Redis when not given.
    """
    queues = await queued_by_dag(client, keys)
    if not queues:
        return []
    paused = await typed.smembers(client, keys.paused)
    deps = deps if deps is not None else await dag_assets(client, keys)
    consumers = {d: deps[d] for d in queues if d in deps and d not in paused}
    aliases = await resolved_aliases(client, keys, consumers)
    going = going if going is not None else await _going_from_redis(client, keys)
    made = []
    for dag_id, dag in consumers.items():
        consumer = ready(dag, queues[dag_id], aliases)
        if consumer is None:
            continue
        limit = await limits(dag_id) if limits else await _limit_from_redis(client, keys, dag_id)
        if going.get(dag_id, 0) >= limit > 0:
            continue
        try:
            ref = await create_consumer_run(client, keys, scripts, dag, consumer, aliases)
        except ResponseError as err:  # NODAG: deleted meanwhile
            log.warning("no asset-triggered run of %s: %s", dag_id, err)
            continue
        if ref is not None:
            made.append(ref)
    return made
