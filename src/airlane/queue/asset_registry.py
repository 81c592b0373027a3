"""The asset registry on Redis: every asset and alias a DAG declares (or a task resolves at run
time), each with a stable integer id, and what each DAG declares about them.

Written from the serialized DAGs (``sync_dag``, called by the coordinator when a DAG version
arrives and when it starts) and by ``record_events`` for assets an alias resolves to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from airlane.engine.asset_condition import alias_names, asset_names
from airlane.engine.dag_spec import DEFAULT_MAX_ACTIVE_RUNS
from airlane.queue import typed
from airlane.queue.asset_records import AliasRecord, AssetRecord, AssetRef, DagAssets, iso_now
from airlane.queue.keys import Keys


def condition_refs(cond: Mapping[str, Any] | None) -> tuple[frozenset[str], frozenset[str]]:
    """(asset names, alias names) a condition names (engine/asset_condition.py's tree)."""
    if not cond:
        return frozenset(), frozenset()
    return asset_names(cond, {}), alias_names(cond)


def _split_refs(
    refs: Iterable[Mapping[str, Any]],
) -> tuple[list[AssetRef], list[Mapping[str, Any]]]:
    assets: list[AssetRef] = []
    aliases: list[Mapping[str, Any]] = []
    for ref in refs:
        if "alias" in ref:
            aliases.append(ref)
        elif ref.get("name") or ref.get("uri"):
            assets.append(AssetRef.from_json(ref))
    return assets, aliases


def has_assets(dag: Mapping[str, Any]) -> bool:
    """Whether a serialized DAG declares anything about assets (a cheap look first)."""
    schedule = dag.get("schedule")
    if isinstance(schedule, Mapping) and schedule.get("kind") in ("assets", "asset_or_time"):
        return True
    return any(t.get("outlets") or t.get("inlets") for t in dag.get("tasks") or ())


def declared(dag_id: str, dag: Mapping[str, Any]) -> tuple[DagAssets, list[Any], list[Any]]:
    """What a serialized DAG declares: its DagAssets, the asset refs (with their watchers) and
    alias refs to register."""
    schedule = dag.get("schedule") if isinstance(dag.get("schedule"), Mapping) else {}
    assert isinstance(schedule, Mapping)
    condition = None
    refs: list[Mapping[str, Any]] = []
    if schedule.get("kind") in ("assets", "asset_or_time"):
        condition = schedule.get("condition")
        refs += list(schedule.get("assets") or ())
        refs += list(schedule.get("aliases") or ())
    outlets: dict[str, list[str]] = {}
    inlets: dict[str, list[str]] = {}
    outlet_aliases: dict[str, list[str]] = {}
    for task in dag.get("tasks") or ():
        task_id = str(task.get("task_id"))
        out_assets, out_aliases = _split_refs(task.get("outlets") or ())
        in_assets, _ = _split_refs(task.get("inlets") or ())
        refs += list(task.get("outlets") or ()) + list(task.get("inlets") or ())
        if out_assets:
            outlets[task_id] = [a.name for a in out_assets]
        if out_aliases:
            outlet_aliases[task_id] = [str(a["alias"]) for a in out_aliases]
        if in_assets:
            inlets[task_id] = [a.name for a in in_assets]
    limit = dag.get("max_active_runs")
    limit = limit if isinstance(limit, int) else DEFAULT_MAX_ACTIVE_RUNS
    deps = DagAssets(dag_id, outlets, inlets, outlet_aliases, condition, iso_now(), limit)
    assets, aliases = _split_refs(refs)
    watchers = {str(r.get("name") or r.get("uri")): r.get("watchers") or () for r in refs}
    return deps, [(a, watchers.get(a.name, ())) for a in assets], aliases


async def register_asset(
    client: aioredis.Redis, keys: Keys, ref: AssetRef, watchers: Sequence[Any] = ()
) -> AssetRecord:
    """The asset's record, registered now if new (its uri, group, extra and watchers follow the
    latest declaration; its id never changes)."""
    raw = await typed.hget(client, keys.assets, ref.name)
    now = iso_now()
    if raw is not None:
        known = AssetRecord.from_json(orjson.loads(raw))
        same = (known.uri, known.group, dict(known.extra), list(known.watchers))
        # the id's index, should a crash have come between the two writes below
        await client.hsetnx(keys.asset_ids, str(known.id), ref.name)
        if same == (ref.uri, ref.group, dict(ref.extra), list(watchers)):
            return known
        record = AssetRecord(
            known.id, ref.name, ref.uri, ref.group, ref.extra, known.created_at, now, watchers
        )
        await client.hset(keys.assets, ref.name, orjson.dumps(record.to_json()).decode())
        return record
    asset_id = int(await client.hincrby(keys.asset_seqs, "asset", 1))
    record = AssetRecord(asset_id, ref.name, ref.uri, ref.group, ref.extra, now, now, watchers)
    if not await client.hsetnx(keys.assets, ref.name, orjson.dumps(record.to_json()).decode()):
        return await register_asset(client, keys, ref, watchers)  # registered meanwhile
    await client.hset(keys.asset_ids, str(asset_id), ref.name)
    return record


async def register_alias(
    client: aioredis.Redis, keys: Keys, name: str, group: str = "asset"
) -> AliasRecord:
    raw = await typed.hget(client, keys.asset_aliases, name)
    if raw is None:
        alias_id = int(await client.hincrby(keys.asset_seqs, "alias", 1))
        record = {"id": alias_id, "name": name, "group": group}
        if await client.hsetnx(keys.asset_aliases, name, orjson.dumps(record).decode()):
            return AliasRecord(alias_id, name, group)
        raw = await typed.hget(client, keys.asset_aliases, name)
    found = orjson.loads(raw or "{}")
    return AliasRecord(int(found["id"]), name, str(found.get("group") or "asset"))


async def resolve_alias(client: aioredis.Redis, keys: Keys, alias: str, asset_name: str) -> None:
    """Remember that ``alias`` resolved to ``asset_name`` (Airflow's alias-asset association)."""
    await client.sadd(keys.asset_alias(alias), asset_name)


async def sync_dag(
    client: aioredis.Redis, keys: Keys, dag_id: str, dag: Mapping[str, Any]
) -> DagAssets:
    """Register what a serialized DAG declares about assets (its latest version wins)."""
    deps, assets, aliases = declared(dag_id, dag)
    for ref, watchers in assets:
        await register_asset(client, keys, ref, watchers)
    for alias in aliases:
        await register_alias(client, keys, str(alias["alias"]), str(alias.get("group") or "asset"))
    if deps.outlets or deps.inlets or deps.outlet_aliases or deps.condition:
        await client.hset(keys.asset_deps, dag_id, orjson.dumps(deps.to_json()).decode())
    else:
        await client.hdel(keys.asset_deps, dag_id)
    return deps


async def drop_dag(client: aioredis.Redis, keys: Keys, dag_id: str) -> None:
    """A DAG gone: it no longer produces or consumes (its assets and events stay, as Airflow's)."""
    await client.hdel(keys.asset_deps, dag_id)


async def dag_assets(client: aioredis.Redis, keys: Keys) -> dict[str, DagAssets]:
    raw = await typed.hgetall(client, keys.asset_deps)
    return {dag_id: DagAssets.from_json(orjson.loads(text)) for dag_id, text in raw.items()}


async def alias_targets(
    client: aioredis.Redis, keys: Keys, names: Iterable[str]
) -> dict[str, set[str]]:
    """Alias name -> the asset names it resolved to."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    async with client.pipeline(transaction=False) as pipe:
        for name in wanted:
            pipe.smembers(keys.asset_alias(name))
        found = await pipe.execute()
    return {name: set(members) for name, members in zip(wanted, found, strict=True)}
