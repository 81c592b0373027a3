"""The asset store on Redis (keys ``asset*`` in queue/keys.py): the registry (see
asset_registry.py), events with Airflow's AssetEvent fields, and the queued events of
consumer DAGs (Airflow's AssetDagRunQueue).

Writers: ``record_events`` (the coordinator for a try's outlets, the API's
``POST /assets/events``, watchers) records events and queues the consumers they concern, in one
Lua step; a try's events are recorded once however often its completion is handled. The
coordinator turns a consumer's queued events into its run (``CreateAssetRun``). Readers: the
API (the async functions below), the coordinator, ``inlet_events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.asset_records import (
    AliasRecord,
    AssetRecord,
    DagAssets,
    EmittedEvent,
    EventSource,
    QueuedEvent,
    event_body,
    iso_now,
    iso_us,
    parse_queue_field,
    queue_field,
)
from airlane.queue.asset_registry import (
    alias_targets,
    condition_refs,
    dag_assets,
    drop_dag,
    register_alias,
    register_asset,
    resolve_alias,
    sync_dag,
)
from airlane.queue.keys import Keys, parse_run_ref
from airlane.queue.scripts import PendingEvent, RecordAssetEvents, Scripts

__all__ = [
    "AssetEvent",
    "AssetLinks",
    "EventFilter",
    "aliases",
    "asset",
    "asset_by_name",
    "assets",
    "consumers_of",
    "dag_assets",
    "delete_queued",
    "drop_dag",
    "events",
    "events_by_id",
    "events_of",
    "links",
    "queued_events",
    "record_events",
    "sync_dag",
]

log = logging.getLogger("airlane.assets")

#: an event record: Airflow's AssetEvent fields (id, asset_id, uri, name, group, extra,
#: source_dag_id, source_task_id, source_run_id, source_map_index, source_aliases, timestamp,
#: created_dagruns as [{"dag_id", "run_id"}])
AssetEvent = dict[str, Any]


# ---- registry reads -------------------------------------------------------------------------


async def assets(client: aioredis.Redis, keys: Keys) -> list[AssetRecord]:
    """Every registered asset, by id."""
    raw = await typed.hgetall(client, keys.assets)
    return sorted((AssetRecord.from_json(orjson.loads(v)) for v in raw.values()), key=_by_id)


def _by_id(record: AssetRecord) -> int:
    return record.id


async def asset(client: aioredis.Redis, keys: Keys, asset_id: int) -> AssetRecord | None:
    name = await typed.hget(client, keys.asset_ids, str(asset_id))
    return None if name is None else await asset_by_name(client, keys, name)


async def asset_by_name(client: aioredis.Redis, keys: Keys, name: str) -> AssetRecord | None:
    raw = await typed.hget(client, keys.assets, name)
    return None if raw is None else AssetRecord.from_json(orjson.loads(raw))


async def aliases(client: aioredis.Redis, keys: Keys) -> list[AliasRecord]:
    """Every alias, by id, with the assets it resolved to."""
    raw = await typed.hgetall(client, keys.asset_aliases)
    targets = await alias_targets(client, keys, raw)
    found = []
    for name, text in raw.items():
        data = orjson.loads(text)
        group = str(data.get("group") or "asset")
        found.append(AliasRecord(int(data["id"]), name, group, frozenset(targets.get(name, ()))))
    return sorted(found, key=lambda a: a.id)


def consumers_of(
    deps: Mapping[str, DagAssets], asset_name: str, resolved: Mapping[str, Iterable[str]]
) -> set[str]:
    """DAGs whose schedule names the asset, or an alias that resolved to it."""
    found = set()
    for dag_id, dag in deps.items():
        names, alias_names = condition_refs(dag.condition)
        if asset_name in names or any(asset_name in resolved.get(a, ()) for a in alias_names):
            found.add(dag_id)
    return found


@dataclass(frozen=True, slots=True)
class AssetLinks:
    """Who produces and consumes an asset (Airflow's producing_tasks, scheduled_dags,
    consuming_tasks): (dag_id, task_id) pairs and dag_ids, sorted."""

    producers: tuple[tuple[str, str], ...]
    consumers: tuple[str, ...]
    consuming_tasks: tuple[tuple[str, str], ...]


def links(
    deps: Mapping[str, DagAssets], asset_name: str, resolved: Mapping[str, Iterable[str]]
) -> AssetLinks:
    """An asset's producers (tasks with it as an outlet), consumers (DAGs scheduled on it or
    on an alias that resolved to it) and consuming tasks (tasks with it as an inlet)."""
    producers = sorted(
        (dag_id, task_id)
        for dag_id, dag in deps.items()
        for task_id, names in dag.outlets.items()
        if asset_name in names
    )
    consuming = sorted(
        (dag_id, task_id)
        for dag_id, dag in deps.items()
        for task_id, names in dag.inlets.items()
        if asset_name in names
    )
    consumers = tuple(sorted(consumers_of(deps, asset_name, resolved)))
    return AssetLinks(tuple(producers), consumers, tuple(consuming))


# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The API's filters of the events list (None: any)."""

    asset_id: int | None = None
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = None
    timestamp_gte: str | None = None
    timestamp_lte: str | None = None
    newest_first: bool = False

    def matches(self, event: AssetEvent) -> bool:
        pairs = (
            (self.asset_id, "asset_id"),
            (self.source_dag_id, "source_dag_id"),
            (self.source_task_id, "source_task_id"),
            (self.source_run_id, "source_run_id"),
            (self.source_map_index, "source_map_index"),
        )
        if any(wanted is not None and event.get(name) != wanted for wanted, name in pairs):
            return False
        stamp = iso_us(str(event["timestamp"]))
        if self.timestamp_gte is not None and stamp < iso_us(self.timestamp_gte):
            return False
        return self.timestamp_lte is None or stamp <= iso_us(self.timestamp_lte)


async def events_by_id(client: aioredis.Redis, keys: Keys, ids: Sequence[int]) -> list[AssetEvent]:
    """The events of ``ids`` that exist, in that order, with their created_dagruns."""
    if not ids:
        return []
    fields = [str(i) for i in ids]
    async with client.pipeline(transaction=False) as pipe:
        pipe.hmget(keys.asset_events, fields)
        pipe.hmget(keys.asset_event_runs, fields)
        bodies, runs = await pipe.execute()
    found = []
    for body, made in zip(bodies, runs, strict=True):
        if body is None:
            continue
        event = orjson.loads(body)
        refs = [parse_run_ref(ref) for ref in (made or "").split("\n") if ref]
        event["created_dagruns"] = [{"dag_id": d, "run_id": r} for d, r in refs]
        found.append(event)
    return found


async def runs_consuming(
    client: aioredis.Redis, keys: Keys, matches: Callable[[str], bool]
) -> set[tuple[str, str]]:
    """(dag id, run id) of every run an event of an asset whose name or uri ``matches``
    triggered (Airflow's ``consuming_asset_pattern``)."""
    bodies = await typed.hgetall(client, keys.asset_events)
    ids = []
    for event_id, body in bodies.items():
        event = orjson.loads(body)
        if matches(str(event.get("name") or "")) or matches(str(event.get("uri") or "")):
            ids.append(event_id)
    made = await typed.hmget(client, keys.asset_event_runs, ids) if ids else []
    return {parse_run_ref(ref) for lines in made if lines for ref in lines.split("\n") if ref}


async def events(
    client: aioredis.Redis, keys: Keys, filters: EventFilter, offset: int = 0, limit: int = 100
) -> tuple[list[AssetEvent], int]:
    """A page of the events that pass ``filters`` (by id, oldest first unless newest_first),
    and how many pass in all."""
    if filters.asset_id is not None:
        index = keys.asset_events_of(filters.asset_id)
    else:
        index = keys.asset_event_index
    raw_ids = await typed.zrangebyscore(client, index, "-inf", "+inf")
    ids = sorted((int(i) for i in raw_ids), reverse=filters.newest_first)
    matched = [e for e in await events_by_id(client, keys, ids) if filters.matches(e)]
    return matched[offset : offset + limit], len(matched)


async def events_of(
    client: aioredis.Redis,
    keys: Keys,
    asset_id: int,
    after_us: int | None = None,
    until_us: int | None = None,
) -> list[AssetEvent]:
    """An asset's events with a timestamp in (after_us, until_us], oldest first."""
    low = "-inf" if after_us is None else f"({after_us}"
    high = "+inf" if until_us is None else str(until_us)
    raw_ids = await typed.zrangebyscore(client, keys.asset_events_of(asset_id), low, high)
    ids = sorted(int(i) for i in raw_ids)
    return await events_by_id(client, keys, ids)


# ---- queued events --------------------------------------------------------------------------


async def queued_events(
    client: aioredis.Redis, keys: Keys, dag_id: str | None = None, asset_id: int | None = None
) -> list[QueuedEvent]:
    """Queued events of one consumer DAG and/or one asset (None: any)."""
    raw = await typed.hgetall(client, keys.asset_queue)
    wanted = [(parse_queue_field(f), at) for f, at in raw.items()]
    wanted = [item for item in wanted if dag_id is None or item[0][0] == dag_id]
    names = sorted({name for (_, name), _ in wanted})
    records = {}
    if names:
        for name, text in zip(names, await client.hmget(keys.assets, names), strict=True):
            if text is not None:
                records[name] = AssetRecord.from_json(orjson.loads(text))
    found = []
    for (dag, name), at in sorted(wanted):
        record = records.get(name)
        if record is None or (asset_id is not None and record.id != asset_id):
            continue
        found.append(QueuedEvent(dag, record.id, name, record.uri, at))
    return found


async def delete_queued(
    client: aioredis.Redis,
    keys: Keys,
    dag_id: str | None = None,
    asset_id: int | None = None,
    before: str | None = None,
) -> int:
    """Delete queued events of a DAG and/or an asset (queued before ``before``, if given);
    how many went."""
    found = await queued_events(client, keys, dag_id, asset_id)
    if before is not None:
        found = [q for q in found if iso_us(q.created_at) < iso_us(before)]
    if not found:
        return 0
    return int(
        await client.hdel(keys.asset_queue, *(queue_field(q.dag_id, q.asset_name) for q in found))
    )


# ---- recording ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scene:
    """What recording reads first, in one round trip: the DAGs' declarations, which of them
    may be queued, the events' assets and the aliases' resolved assets."""

    deps: dict[str, DagAssets]
    idle: set[str]
    resolved: dict[str, set[str]]
    assets: dict[str, AssetRecord]


async def _scene(client: aioredis.Redis, keys: Keys, events: Sequence[EmittedEvent]) -> _Scene:
    names = sorted({e.asset.name for e in events})
    async with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.asset_deps)
        pipe.smembers(keys.paused)
        pipe.smembers(keys.inactive)
        pipe.hmget(keys.assets, names)
        raw_deps, paused, inactive, raw_assets = await pipe.execute()
    deps = {d: DagAssets.from_json(orjson.loads(t)) for d, t in raw_deps.items()}
    found = {
        n: AssetRecord.from_json(orjson.loads(r))
        for n, r in zip(names, raw_assets, strict=True)
        if r is not None
    }
    alias_names = {a for e in events for a in e.source_alias_names}
    for dag in deps.values():
        alias_names |= condition_refs(dag.condition)[1]
    resolved = await alias_targets(client, keys, alias_names)
    return _Scene(deps, set(paused) | set(inactive), resolved, found)


async def _asset_of(
    client: aioredis.Redis, keys: Keys, event: EmittedEvent, scene: _Scene
) -> AssetRecord | None:
    """The event's registered asset (a URI-only reference found by its URI); one an alias
    resolved to is registered now, as Airflow creates it."""
    record = scene.assets.get(event.asset.name)
    if record is None and event.asset.name == event.asset.uri:
        record = next((a for a in await assets(client, keys) if a.uri == event.asset.uri), None)
    if record is None and event.source_alias_names:
        record = await register_asset(client, keys, event.asset)
    if record is None:
        log.warning("no asset %r registered: its event is not recorded", event.asset.name)
    return record


def merged(emitted: Sequence[EmittedEvent]) -> list[EmittedEvent]:
    """Alias events of one asset with the same extra become one event naming every alias
    (as Airflow records them); events of the outlets themselves stay as they are."""
    out: list[EmittedEvent] = []
    by_key: dict[tuple[str, bytes], int] = {}
    for event in emitted:
        if not event.source_alias_names:
            out.append(event)
            continue
        key = (event.asset.name, orjson.dumps(dict(event.extra), option=orjson.OPT_SORT_KEYS))
        if key in by_key:
            first = out[by_key[key]]
            names = tuple(dict.fromkeys([*first.source_alias_names, *event.source_alias_names]))
            out[by_key[key]] = EmittedEvent(first.asset, first.extra, names)
        else:
            by_key[key] = len(out)
            out.append(event)
    return out


async def _pending(
    client: aioredis.Redis, keys: Keys, event: EmittedEvent, source: EventSource, scene: _Scene
) -> PendingEvent | None:
    record = await _asset_of(client, keys, event, scene)
    if record is None:
        return None
    alias_records = []
    for name in event.source_alias_names:
        alias_records.append(await register_alias(client, keys, name))
        await resolve_alias(client, keys, name, record.name)
        scene.resolved.setdefault(name, set()).add(record.name)
    consumers = consumers_of(scene.deps, record.name, scene.resolved) - scene.idle
    now = iso_now()
    body = event_body(record, event, source, alias_records, now)
    fields = [queue_field(dag_id, record.name) for dag_id in sorted(consumers)]
    return PendingEvent(body, record.id, iso_us(now), now, fields)


async def record_events(
    client: aioredis.Redis,
    keys: Keys,
    emitted: Sequence[EmittedEvent],
    source: EventSource,
    scripts: Scripts | None = None,
    records: bool = True,
) -> list[AssetEvent]:
    """Record events and queue the consumers (not paused) they concern; the event records.

    A try's events (``source`` with a dag_id) are recorded once: a second call gives the
    records of the first. Each event also goes on the events stream (kind ``asset``). Events
    from outside (the API, watchers) create the runs they make ready with
    ``asset_runs.create_ready_runs`` (the coordinator does for a try's events).
    ``records``: False to skip reading the records back (an empty list is returned).
    """
    scripts = scripts or Scripts.register(client, keys)
    field = source.idempotency_field()
    events_in = merged(emitted)
    scene = await _scene(client, keys, events_in)
    pending = [p for e in events_in if (p := await _pending(client, keys, e, source, scene))]
    if not pending and not field:
        return []
    call = RecordAssetEvents(field, pending, outside=source.dag_id is None)
    _, ids = await scripts.record_asset_events(call)
    if source.dag_id is None and any(p.queue_fields for p in pending):
        from airlane.queue.asset_metrics import count_asset_runs
        from airlane.queue.asset_runs import create_ready_runs  # it reads events from here

        made = await create_ready_runs(client, keys, scripts)
        await count_asset_runs(client, keys, len(made))
    return await events_by_id(client, keys, ids) if records else []
