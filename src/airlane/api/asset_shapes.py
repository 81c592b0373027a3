"""Airflow 3.1's JSON shapes of assets, asset events, aliases and queued events, from the
records of the asset store (:mod:`airlane.queue.asset_records`), and the filters and orders of
their lists. Pure: the handlers (:mod:`airlane.api.assets`) read, these shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.inputs import query_list
from airlane.api.shapes import iso
from airlane.queue.asset_records import AliasRecord, AssetRecord, DagAssets, QueuedEvent
from airlane.service.triggerer.watcher_plan import watcher_key

Shape = dict[str, Any]


def condition_asset_names(condition: Mapping[str, Any] | None) -> Iterator[str]:
    """The assets a DAG's schedule names directly (Airflow's DagScheduleAssetReference: not
    those reached through an alias)."""
    if not condition:
        return
    if "asset" in condition:
        yield str(condition["asset"])
    for part in (*condition.get("all", ()), *condition.get("any", ())):
        yield from condition_asset_names(part)


def _task_refs(
    dags: Sequence[DagAssets], pick: Callable[[DagAssets], Mapping[str, Sequence[str]]], name: str
) -> list[Shape]:
    return [
        {
            "dag_id": d.dag_id,
            "task_id": task_id,
            "created_at": d.updated_at,
            "updated_at": d.updated_at,
        }
        for d in dags
        for task_id, names in sorted(pick(d).items())
        if name in names
    ]


def asset_shape(
    asset: AssetRecord,
    dags: Sequence[DagAssets],
    aliases: Sequence[AliasRecord],
    last_event: Mapping[str, Any] | None,
) -> Shape:
    """Airflow's ``AssetResponse``."""
    scheduled = [
        {"dag_id": d.dag_id, "created_at": d.updated_at, "updated_at": d.updated_at}
        for d in dags
        if asset.name in set(condition_asset_names(d.condition))
    ]
    last = last_event or {}
    return {
        "id": asset.id,
        "name": asset.name,
        "uri": asset.uri,
        "group": asset.group,
        "extra": dict(asset.extra),
        "created_at": asset.created_at,
        "updated_at": asset.updated_at,
        "scheduled_dags": scheduled,
        "producing_tasks": _task_refs(dags, lambda d: d.outlets, asset.name),
        "consuming_tasks": _task_refs(dags, lambda d: d.inlets, asset.name),
        "aliases": [a.ref() for a in aliases if asset.name in a.asset_names],
        "watchers": watcher_shapes(asset),
        "last_asset_event": {"id": last.get("id"), "timestamp": last.get("timestamp")},
    }


def watcher_shapes(asset: AssetRecord) -> list[Shape]:
    """Newer Airflow's ``AssetWatcherResponse`` of each of the asset's watchers (airflowctl
    0.1.5 requires the list). ``trigger_id``: Airlane keeps no trigger rows; a watcher's
    trigger is identified by its classpath and kwargs (one trigger for every asset watched by
    the same ones, as Airflow's), shown as a non-negative 60-bit integer."""
    shapes = []
    for watcher in asset.watchers:
        trigger = watcher.get("trigger") or {}
        key = watcher_key(str(trigger.get("classpath", "")), trigger.get("kwargs") or {})
        shapes.append(
            {
                "name": str(watcher.get("name") or ""),
                "trigger_id": int(key[:15], 16),
                "created_date": asset.created_at,
            }
        )
    return shapes


def run_reference(run: Mapping[str, Any]) -> Shape:
    """Airflow's ``DagRunAssetReference`` of a run the event created (from its hash)."""
    return {
        "run_id": run.get("run_id"),
        "dag_id": run.get("dag_id"),
        "logical_date": run.get("logical_date") or None,
        "start_date": iso(run.get("start_date") or run.get("queued_at")),
        "end_date": iso(run.get("end_date")),
        "state": run.get("state") or "queued",
        "data_interval_start": run.get("data_interval_start") or None,
        "data_interval_end": run.get("data_interval_end") or None,
    }


def event_shape(event: Mapping[str, Any], runs: Sequence[Mapping[str, Any]] = ()) -> Shape:
    """Airflow's ``AssetEventResponse`` of an event record (``runs``: the runs it created,
    as ``created_dagruns`` shapes or run hashes)."""
    return {
        "id": int(event["id"]),
        "asset_id": int(event["asset_id"]),
        "uri": event.get("uri"),
        "name": event.get("name"),
        "group": event.get("group"),
        "extra": event.get("extra") or {},
        "source_task_id": event.get("source_task_id"),
        "source_dag_id": event.get("source_dag_id"),
        "source_run_id": event.get("source_run_id"),
        "source_map_index": int(event.get("source_map_index", -1)),
        "created_dagruns": [run_reference(r) for r in runs],
        "timestamp": event["timestamp"],
    }


def queued_shape(queued: QueuedEvent, display_name: str | None) -> Shape:
    """Airflow's ``QueuedEventResponse``."""
    return {
        "dag_id": queued.dag_id,
        "asset_id": queued.asset_id,
        "created_at": queued.created_at,
        "dag_display_name": display_name or queued.dag_id,
    }


def asset_expression(
    schedule: Mapping[str, Any] | None, ids: Mapping[str, int]
) -> dict[str, Any] | None:
    """A DAG's ``asset_expression`` (Airflow's DagModel column: its asset condition with each
    asset's uri, name, group and id, each alias's name and group); None when not asset-scheduled."""
    if not schedule or schedule.get("kind") not in ("assets", "asset_or_time"):
        return None
    assets = {a["name"]: a for a in schedule.get("assets") or ()}
    aliases = {a["alias"]: a for a in schedule.get("aliases") or ()}

    def expand(cond: Mapping[str, Any]) -> dict[str, Any]:
        if "asset" in cond:
            ref = assets.get(cond["asset"], {"name": cond["asset"], "uri": cond["asset"]})
            name = str(ref["name"])
            found = {"uri": ref.get("uri", name), "name": name, "group": ref.get("group", "asset")}
            return {"asset": {**found, "id": ids.get(name)}}
        if "alias" in cond:
            alias = aliases.get(cond["alias"], {})
            return {"alias": {"name": cond["alias"], "group": alias.get("group", "asset")}}
        key = "all" if "all" in cond else "any"
        return {key: [expand(c) for c in cond.get(key, ())]}

    condition = schedule.get("condition")
    return expand(condition) if isinstance(condition, Mapping) else None


def ordering(request: web.Request, fields: tuple[str, ...], default: str) -> list[tuple[str, bool]]:
    """``order_by`` (repeatable, ``-`` for descending) as (field, descending) pairs; a field
    the list does not sort by is Airflow's 400."""
    return list(listing.query_order(request, fields, [default]))


def sort_shapes(shapes: list[Shape], pairs: list[tuple[str, bool]]) -> list[Shape]:
    """Sorted by each pair, first pair first; None sorts before any value (as SQL's NULLS
    FIRST ascending)."""
    for name, descending in reversed(pairs):
        shapes.sort(key=_field_key(name), reverse=descending)
    return shapes


def _field_key(name: str) -> Callable[[Shape], tuple[bool, Any]]:
    return lambda shape: _key(shape.get(name))


def _key(value: Any) -> tuple[bool, Any]:
    return (value is not None, 0 if value is None else value)


def asset_filter(request: web.Request) -> Callable[[Shape], bool]:
    """``name_pattern``, ``uri_pattern`` (and their ``_prefix_pattern``) and ``dag_ids`` (an
    asset some of those DAGs schedule on, produce or consume) as one test of an asset's
    shape."""
    found = listing.searches(request, {"name": "name", "uri": "uri"})
    dag_ids = set(query_list(request, "dag_ids"))
    if len(dag_ids) == 1:  # Airflow also takes dag_ids=a,b
        dag_ids = set(dag_ids.pop().split(","))

    def related(shape: Shape) -> set[str]:
        parts = ("scheduled_dags", "producing_tasks", "consuming_tasks")
        return {ref["dag_id"] for part in parts for ref in shape[part]}

    def keep(shape: Shape) -> bool:
        return listing.keeps(shape, found) and (not dag_ids or bool(dag_ids & related(shape)))

    return keep


def event_filter(
    equal: Mapping[str, Any], ranges: Sequence[tuple[str, datetime]]
) -> Callable[[Shape], bool]:
    """Events whose fields equal ``equal`` and whose timestamp is within ``ranges``."""

    def keep(shape: Shape) -> bool:
        if any(shape.get(name) != value for name, value in equal.items()):
            return False
        at = datetime.fromisoformat(str(shape["timestamp"]).replace("Z", "+00:00"))
        return all(_in_range(at, op, bound) for op, bound in ranges)

    return keep


def _in_range(at: datetime, op: str, bound: datetime) -> bool:
    return {"gte": at >= bound, "gt": at > bound, "lte": at <= bound, "lt": at < bound}[op]
