"""``/api/v2/assets*`` as Airflow 3.1's: assets, their events (list; create: an external system
records an event and the consumers run), aliases, queued events per asset and per DAG (read,
delete), and materializing an asset (a run of the one DAG that produces it).

Reads and writes go through the asset store (:mod:`airlane.queue.assets`); the shapes, filters
and orders are in :mod:`airlane.api.asset_shapes`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.asset_shapes import (
    Shape,
    asset_filter,
    asset_shape,
    event_filter,
    event_shape,
    ordering,
    queued_shape,
    sort_shapes,
)
from airlane.api.dag_runs import TRIGGER_FIELDS, create_from_body, load_run
from airlane.api.dag_versions import run_shape
from airlane.api.errors import ApiError, conflict, invalid, json_response
from airlane.api.inputs import (
    as_int,
    json_body,
    opt_dict,
    page,
    parse_datetime,
    path_int,
    query_bool,
    query_int,
)
from airlane.api.spec.assets import ALIAS_ORDER, ASSET_ORDER, EVENT_ORDER
from airlane.queue import asset_reads
from airlane.queue import assets as asset_store
from airlane.queue.asset_records import (
    AssetRecord,
    AssetRef,
    EmittedEvent,
    EventSource,
    QueuedEvent,
)
from airlane.queue.store import Store
from airlane.sdk.run_types import refusal
from airlane.sdk.timetable_base import DagRunType


def _not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


async def _asset_shapes(store: Store, records: list[AssetRecord]) -> list[Shape]:
    dags = list((await asset_store.dag_assets(store.client, store.keys)).values())
    aliases = await asset_store.aliases(store.client, store.keys)
    last = await asset_reads.latest_events(store.client, store.keys, [r.id for r in records])
    return [asset_shape(r, dags, aliases, last.get(r.id)) for r in records]


def _active(shape: Shape) -> bool:
    """Airflow's AssetActive: an asset some DAG declares (schedule, outlet or inlet)."""
    parts = ("scheduled_dags", "producing_tasks", "consuming_tasks")
    return any(shape[part] for part in parts)


async def list_assets(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit, offset = page(request)
    pairs = ordering(request, ASSET_ORDER, "id")
    only_active = query_bool(request, "only_active")
    keep = asset_filter(request)
    shapes = await _asset_shapes(store, await asset_store.assets(store.client, store.keys))
    if only_active is not False:
        shapes = [s for s in shapes if _active(s)]
    shapes = sort_shapes([s for s in shapes if keep(s)], pairs)
    return json_response({"assets": shapes[offset : offset + limit], "total_entries": len(shapes)})


async def _asset(store: Store, asset_id: int) -> AssetRecord:
    record = await asset_store.asset(store.client, store.keys, asset_id)
    if record is None:
        raise _not_found(f"The Asset with ID: `{asset_id}` was not found")
    return record


async def get_asset(request: web.Request) -> web.Response:
    store = request.app[STORE]
    record = await _asset(store, path_int(request, "asset_id"))
    return json_response((await _asset_shapes(store, [record]))[0])


async def list_aliases(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit, offset = page(request)
    pairs = ordering(request, ALIAS_ORDER, "id")
    found = listing.searches(request, {"name": "name"})
    shapes = [
        a.ref()
        for a in await asset_store.aliases(store.client, store.keys)
        if listing.keeps(a.ref(), found)
    ]
    shapes = sort_shapes(shapes, pairs)
    return json_response(
        {"asset_aliases": shapes[offset : offset + limit], "total_entries": len(shapes)}
    )


async def get_alias(request: web.Request) -> web.Response:
    store = request.app[STORE]
    alias_id = path_int(request, "asset_alias_id")
    for alias in await asset_store.aliases(store.client, store.keys):
        if alias.id == alias_id:
            return json_response(alias.ref())
    raise _not_found(f"The Asset Alias with ID: `{alias_id}` was not found")


def _event_query(request: web.Request) -> tuple[dict[str, Any], list[tuple[str, datetime]]]:
    q = request.query
    equal: dict[str, Any] = {
        name: q[name] for name in ("source_dag_id", "source_task_id", "source_run_id") if name in q
    }
    for name in ("asset_id", "source_map_index"):
        if name in q:
            equal[name] = query_int(request, name, 0, None, None)
    ranges = [
        (op, parse_datetime(q[f"timestamp_{op}"], "query", f"timestamp_{op}"))
        for op in ("gte", "gt", "lte", "lt")
        if f"timestamp_{op}" in q
    ]
    return equal, ranges


async def _event_shapes(store: Store, events: list[dict[str, Any]]) -> list[Shape]:
    shapes = []
    for event in events:
        found = []
        for ref in event.get("created_dagruns") or ():
            run = await store.run(ref["dag_id"], ref["run_id"])
            if run is not None:
                found.append(run)
        shapes.append(event_shape(event, found))
    return shapes


async def list_events(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit, offset = page(request)
    pairs = ordering(request, EVENT_ORDER, "timestamp")
    equal, ranges = _event_query(request)
    keep = event_filter(equal, ranges)
    names = listing.searches(request, {"name": "name"})  # (the asset's name)
    everything, _ = await asset_store.events(
        store.client, store.keys, asset_store.EventFilter(), 0, 2**62
    )
    events = [e for e in everything if keep(e) and listing.keeps(e, names)]
    events = sort_shapes(events, [*pairs, ("id", False)])
    shapes = await _event_shapes(store, events[offset : offset + limit])
    return json_response({"asset_events": shapes, "total_entries": len(events)})


async def create_event(request: web.Request) -> web.Response:
    store = request.app[STORE]
    body = await json_body(request, {"asset_id", "extra", "partition_key", "access_control"})
    _for_everybody(body)
    asset_id = as_int(body.get("asset_id"))
    if asset_id is None:
        raise invalid("body", "asset_id", "Input should be a valid integer", body.get("asset_id"))
    # Airflow's CreateAssetEventsBody marks an event from the REST API in its extra
    extra = {**(opt_dict(body, "extra") or {}), "from_rest_api": True}
    record = await asset_store.asset(store.client, store.keys, asset_id)
    if record is None:
        raise _not_found(f"Asset with ID: `{asset_id}` was not found")
    ref = AssetRef(record.name, record.uri, record.group, record.extra)
    emitted = EmittedEvent(ref, extra)
    recorded = await asset_store.record_events(store.client, store.keys, [emitted], EventSource())
    if not recorded:
        raise _not_found(f"Asset with ID: `{asset_id}` was not found")
    return json_response((await _event_shapes(store, [recorded[0]]))[0])


def _for_everybody(body: dict[str, Any]) -> None:
    """An event's ``access_control`` (Airflow 3.3: which teams' DAGs it reaches): Airlane has no
    teams, so only every consumer (null, or ``allow_global`` without ``consumer_teams``) is
    taken; a partition key is refused (no asset partitions)."""
    if body.get("partition_key") is not None:
        message = "Airlane has no asset partitions: an event cannot carry a partition_key"
        raise invalid("body", "partition_key", message, body["partition_key"])
    control = body.get("access_control")
    if control is None:
        return
    if not isinstance(control, dict) or set(control) - {"consumer_teams", "allow_global"}:
        raise invalid(
            "body", "access_control", "Input should be an AssetEventAccessControl", control
        )
    if control.get("consumer_teams") or control.get("allow_global", True) is not True:
        message = "Airlane has no teams: an event reaches every consumer"
        raise invalid("body", "access_control", message, control)


async def materialize(request: web.Request) -> web.Response:
    """Run the one DAG that produces the asset (an asset_materialization run), as the
    optional MaterializeAssetBody asks (the trigger's fields: run id, dates, conf, note)."""
    store = request.app[STORE]
    asset_id = path_int(request, "asset_id")
    body = await json_body(request, TRIGGER_FIELDS, required=False)
    record = await asset_store.asset(store.client, store.keys, asset_id)
    producers = set()
    if record is not None:
        for deps in (await asset_store.dag_assets(store.client, store.keys)).values():
            if any(record.name in names for names in deps.outlets.values()):
                producers.add(deps.dag_id)
    if not producers:
        raise _not_found(f"No DAG materializes asset with ID: {asset_id}")
    if len(producers) > 1:
        raise conflict(f"More than one DAG materializes asset with ID: {asset_id}")
    dag_id = producers.pop()
    dag = await store.dag(dag_id)
    kind = DagRunType.ASSET_MATERIALIZATION
    denied = refusal(
        dag_id, (dag or {}).get("allowed_run_types"), kind, "asset materialization runs"
    )
    if denied is not None:
        raise ApiError(400, denied)  # Airflow's status and message
    if dag is None:
        raise _not_found(f"No DAG materializes asset with ID: {asset_id}")
    run_id = await create_from_body(store, dag, body, kind)  # Airflow 3.2+'s run type and id
    return json_response(await run_shape(store, dag, await load_run(store, dag_id, run_id)))


def _before(request: web.Request) -> datetime | None:
    raw = request.query.get("before")
    return None if raw is None else parse_datetime(raw, "query", "before")


async def _queued(
    store: Store, request: web.Request, dag_id: str | None, asset_id: int | None
) -> list[QueuedEvent]:
    before = _before(request)
    return [
        q
        for q in await asset_store.queued_events(store.client, store.keys, dag_id, asset_id)
        if before is None or datetime.fromisoformat(q.created_at) < before
    ]


async def _queued_shapes(store: Store, queued: list[QueuedEvent]) -> list[Shape]:
    names: dict[str, str | None] = {}
    for q in queued:
        if q.dag_id not in names:
            dag = await store.dag(q.dag_id)
            names[q.dag_id] = (dag or {}).get("dag_display_name")
    return [queued_shape(q, names[q.dag_id]) for q in queued]


def _collection(shapes: list[Shape]) -> web.Response:
    return json_response({"queued_events": shapes, "total_entries": len(shapes)})


async def asset_queued(request: web.Request) -> web.Response:
    store = request.app[STORE]
    queued = await _queued(store, request, None, path_int(request, "asset_id"))
    return _collection(await _queued_shapes(store, queued))


async def dag_queued(request: web.Request) -> web.Response:
    store = request.app[STORE]
    queued = await _queued(store, request, request.match_info["dag_id"], None)
    return _collection(await _queued_shapes(store, queued))


async def dag_asset_queued(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, asset_id = request.match_info["dag_id"], path_int(request, "asset_id")
    queued = await _queued(store, request, dag_id, asset_id)
    if not queued:
        raise _not_found(
            f"Queued event with dag_id: `{dag_id}` and asset_id: `{asset_id}` was not found"
        )
    return json_response((await _queued_shapes(store, queued[:1]))[0])


async def _delete(
    request: web.Request, dag_id: str | None, asset_id: int | None, missing: str
) -> web.Response:
    store = request.app[STORE]
    before = _before(request)
    stamp = None if before is None else before.isoformat()
    if not await asset_store.delete_queued(store.client, store.keys, dag_id, asset_id, stamp):
        raise _not_found(missing)
    return web.Response(status=204)


async def delete_asset_queued(request: web.Request) -> web.Response:
    asset_id = path_int(request, "asset_id")
    missing = f"Queue event with asset_id: `{asset_id}` was not found"
    return await _delete(request, None, asset_id, missing)


async def delete_dag_queued(request: web.Request) -> web.Response:
    dag_id = request.match_info["dag_id"]
    missing = f"Queue event with dag_id: `{dag_id}` was not found"
    return await _delete(request, dag_id, None, missing)


async def delete_dag_asset_queued(request: web.Request) -> web.Response:
    dag_id, asset_id = request.match_info["dag_id"], path_int(request, "asset_id")
    missing = f"Queued event with dag_id: `{dag_id}` and asset_id: `{asset_id}` was not found"
    return await _delete(request, dag_id, asset_id, missing)


async def upstream_events(request: web.Request) -> web.Response:
    """The asset events a run consumed (none unless asset-triggered), as Airflow lists them."""
    store = request.app[STORE]
    dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
    run = await load_run(store, dag_id, run_id)
    try:
        refs = orjson.loads(run.get("asset_events") or "[]")
    except orjson.JSONDecodeError:
        refs = []
    ids = [int(ref["id"]) for ref in refs if isinstance(ref, dict) and "id" in ref]
    events = await asset_store.events_by_id(store.client, store.keys, ids)
    shapes = await _event_shapes(store, events)
    return json_response({"asset_events": shapes, "total_entries": len(shapes)})


def add_routes(app: web.Application) -> None:
    base = "/api/v2/assets"
    app.router.add_get(
        "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents", upstream_events
    )
    app.router.add_get(base, list_assets)
    app.router.add_get(base + "/aliases", list_aliases)
    app.router.add_get(base + "/aliases/{asset_alias_id}", get_alias)
    app.router.add_get(base + "/events", list_events)
    app.router.add_post(base + "/events", create_event)
    app.router.add_post(base + "/{asset_id}/materialize", materialize)
    app.router.add_get(base + "/{asset_id}/queuedEvents", asset_queued)
    app.router.add_delete(base + "/{asset_id}/queuedEvents", delete_asset_queued)
    app.router.add_get(base + "/{asset_id}", get_asset)
    dag = "/api/v2/dags/{dag_id}/assets"
    app.router.add_get(dag + "/queuedEvents", dag_queued)
    app.router.add_delete(dag + "/queuedEvents", delete_dag_queued)
    app.router.add_get(dag + "/{asset_id}/queuedEvents", dag_asset_queued)
    app.router.add_delete(dag + "/{asset_id}/queuedEvents", delete_dag_asset_queued)
    # airflowctl (0.1.5) sends its deletes of queued events to these paths: answered the same
    app.router.add_delete(base + "/{asset_id}/queuedEvents/", delete_asset_queued)
    app.router.add_delete(base + "/dags/{dag_id}/queuedEvents", delete_dag_queued)
    app.router.add_delete(
        base + "/dags/{dag_id}/assets/{asset_id}/queuedEvents/", delete_dag_asset_queued
    )
