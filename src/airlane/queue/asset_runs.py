"""A consumer DAG's asset-triggered run, as Airflow 3.1's scheduler makes it
(``_create_dag_runs_asset_triggered``), from its queued events.

- Ready when the assets with a queued event satisfy its condition (AssetDagRunQueue rows).
- ``run_after``: the latest of those rows' times; no logical date or data interval, as in
  Airflow (empty in the run's hash; the run is scored by its ``run_after``); run id
  ``asset_triggered__<run_after ISO>_<8 random letters or digits>``.
- The events it consumes: those of its assets (and of the assets its aliases resolved to)
  with a timestamp after its previous asset-triggered run's ``run_after`` and up to its own,
  oldest first; then every queued row of the DAG goes (the same step).
"""

from __future__ import annotations

import logging
import random
import string
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

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
    return run_id_without_logical_date(RUN_TYPE, datetime.fromisoformat(run_after))


def run_id_without_logical_date(run_type: str, run_after: datetime) -> str:
    """Airflow's ``DagRun.generate_run_id`` when the run has no logical date:
    ``<type>__<run_after ISO>_<8 random letters or digits>``."""
    suffix = "".join(random.choices(_RANDOM, k=8))
    return f"{run_type}__{run_after.isoformat()}_{suffix}"


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
    wanted: Sequence[tuple[Set[str], str | None, str]],
) -> list[list[AssetEvent]]:
    """The events each run takes (see the module's description), for every run at once (three
    round trips however many): ``wanted`` holds per run the asset names it reacts to, the
    run_after of its DAG's previous asset-triggered run and its own run_after."""
    names = sorted({n for assets_of, _, _ in wanted for n in assets_of})
    raws = await client.hmget(keys.assets, names) if names else []
    ids = {n: int(orjson.loads(r)["id"]) for n, r in zip(names, raws, strict=True) if r}
    async with client.pipeline(transaction=False) as pipe:
        for assets_of, previous, run_after in wanted:
            low = f"({iso_us(previous)}" if previous else "-inf"
            for name in sorted(assets_of):
                if name in ids:
                    pipe.zrangebyscore(keys.asset_events_of(ids[name]), low, iso_us(run_after))
        found = iter(await pipe.execute())
    per_run = []
    for assets_of, _, _ in wanted:
        members = [next(found) for name in sorted(assets_of) if name in ids]
        per_run.append(sorted({int(i) for m in members for i in m}))
    records = await events_by_id(client, keys, sorted({i for run in per_run for i in run}))
    by_id = {int(e["id"]): e for e in records}
    return [sorted((by_id[i] for i in run if i in by_id), key=_event_order) for run in per_run]


def _event_order(event: AssetEvent) -> tuple[int, int]:
    return iso_us(str(event["timestamp"])), int(event["id"])


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


@dataclass(frozen=True, slots=True)
class CreatedRun:
    ref: str
    #: its ``run:{run}`` hash as written
    run_hash: Mapping[str, str]


def _create_call(
    dag: DagAssets, consumer: ReadyConsumer, events: list[AssetEvent], announce: bool
) -> CreateAssetRun:
    run_id = asset_run_id(consumer.run_after)
    when = datetime.fromisoformat(consumer.run_after)
    run_hash = {
        "dag_id": dag.dag_id,
        "run_id": run_id,
        "state": "queued",
        "logical_date": "",  # none, nor a data interval, as in Airflow 3
        "data_interval_start": "",
        "data_interval_end": "",
        "conf": "{}",
        "run_type": RUN_TYPE,
        "queued_at": repr(time.time()),
        "note": "",
        "run_after": when.isoformat(),
        "asset_events": orjson.dumps(triggering_refs(events)).decode(),
    }
    return CreateAssetRun(
        dag.dag_id,
        run_id,
        when.timestamp(),
        run_hash,
        consumer.queue_fields,
        [int(e["id"]) for e in events],
        consumer.run_after,
        announce,
    )


async def create_consumer_runs(
    client: aioredis.Redis,
    keys: Keys,
    scripts: Scripts,
    ready_ones: Sequence[tuple[DagAssets, ReadyConsumer]],
    aliases: Mapping[str, Set[str]],
    previous: Mapping[str, str],
    announce: bool = True,
) -> list[CreatedRun]:
    """Create each consumer's run from its queued events (one pipelined call for all); the
    runs made (not those whose events were consumed already: a restarted coordinator
    handling them again, or another caller first)."""
    wanted = []
    for dag, consumer in ready_ones:
        names, alias_names = condition_refs(dag.condition)
        names |= {n for a in alias_names for n in aliases.get(a, ())}
        wanted.append((names, previous.get(dag.dag_id), consumer.run_after))
    events = await consumed_events(client, keys, wanted)
    calls = [
        _create_call(dag, consumer, found, announce)
        for (dag, consumer), found in zip(ready_ones, events, strict=True)
    ]
    made = []
    for call, answer in zip(calls, await scripts.create_asset_runs(calls), strict=True):
        if isinstance(answer, Exception):  # NODAG: deleted meanwhile
            log.warning("no asset-triggered run of %s: %s", call.dag_id, answer)
        elif answer:
            made.append(CreatedRun(f"{call.dag_id}|{call.run_id}", call.run_hash))
    return made


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
) -> list[CreatedRun]:
    """Create the run of every unpaused consumer whose queued events meet its condition and
    that is under its max_active_runs (as Airflow: otherwise its queue waits); the runs made.

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
    startable = [
        (consumers[d], c)
        for d, c in ready_ones
        if not going.get(d, 0) >= consumers[d].max_active_runs > 0
    ]
    if not startable:
        return []
    return await create_consumer_runs(client, keys, scripts, startable, aliases, previous, announce)


def new_run_call(
    dag: DagAssets, consumer: ReadyConsumer, events: list[AssetEvent], announce: bool
) -> CreateAssetRun:
    """The call that creates ``consumer``'s run taking ``events`` (its run id, hash and score
    as every asset-triggered run gets them; queue/asset_step.py plans its runs with it)."""
    return _create_call(dag, consumer, events, announce)
