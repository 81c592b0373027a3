"""``/api/v2/dags/{dag_id}/dagVersions`` (the serialized versions Airlane keeps of a DAG,
numbered in the order they appeared: :mod:`airlane.queue.dag_admin`) and DELETE of a DAG."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.dag_meta import current_dags, sort_rows
from airlane.api.errors import conflict, json_response, not_found
from airlane.api.inputs import page, path_int, query_int, query_list
from airlane.api.shapes import dag_run_response, version_response
from airlane.queue.dag_admin import DagActive, dag_versions, delete_dag
from airlane.queue.store import DagNotFound, Store

_ORDER = ("id", "version_number", "bundle_name", "bundle_version")


async def versions_of(store: Store, dag_id: str, dag: dict[str, Any]) -> list[dict[str, Any]]:
    display = dag.get("dag_display_name") or dag_id
    return [
        version_response(dag_id, display, v.number, v.content_hash, v.created_at_s)
        for v in await dag_versions(store, dag_id)
    ]


async def versions_by_hash(
    store: Store, dag_id: str, dag: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The DAG's version responses by content hash (a form the DAG came back to: its latest
    version, the one a run started since then has)."""
    display = dag.get("dag_display_name") or dag_id
    return {
        v.content_hash: version_response(dag_id, display, v.number, v.content_hash, v.created_at_s)
        for v in await dag_versions(store, dag_id)
    }


async def run_shapes(
    store: Store, dag: dict[str, Any] | None, runs: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """DAGRunResponse of each of one DAG's ``runs``, with the version each was created with."""
    if not runs:
        return []
    versions = await versions_by_hash(store, runs[0]["dag_id"], dag or {})
    return [dag_run_response(dag, run, versions) for run in runs]


async def run_shape(store: Store, dag: dict[str, Any] | None, run: dict[str, str]) -> Any:
    """DAGRunResponse of one run, with the version it was created with."""
    return (await run_shapes(store, dag, [run]))[0]


async def list_versions(request: web.Request) -> web.Response:
    """One DAG's versions, or every DAG's for ``~`` (as Airflow)."""
    limit, offset = page(request)
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    dags = await current_dags(store)
    if dag_id != "~" and dag_id not in dags:
        raise not_found(f"The Dag with ID: `{dag_id}`")
    rows = []
    for one in [dag_id] if dag_id != "~" else sorted(dags):
        rows += await versions_of(store, one, dags[one])
    number = query_int(request, "version_number", 0, None, None)
    if "version_number" in request.query:
        rows = [r for r in rows if r["version_number"] == number]
    for name in ("bundle_name", "bundle_version"):
        if name in request.query:
            rows = [r for r in rows if r[name] == request.query[name]]
    sort_rows(rows, query_list(request, "order_by"), _ORDER)
    chosen = rows[offset : offset + limit]
    return json_response({"dag_versions": chosen, "total_entries": len(rows)})


async def get_version(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    number = path_int(request, "version_number")
    dag = await store.dag(dag_id)
    for row in await versions_of(store, dag_id, dag or {}) if dag else []:
        if row["version_number"] == number:
            return json_response(row)
    message = f"The DagVersion with dag_id: `{dag_id}` and version_number: `{number}`"
    raise not_found(message)


async def delete(request: web.Request) -> web.Response:
    """Airflow's 204; 404 for no such DAG; 409 while a run of it is queued or running (Airflow:
    while a task instance runs; Airlane's coordinator holds every active run)."""
    dag_id = request.match_info["dag_id"]
    try:
        await delete_dag(request.app[STORE], dag_id)
    except DagNotFound:
        raise not_found(f"Dag with id: {dag_id}") from None
    except DagActive:
        raise conflict(f"Task instances of dag with id: '{dag_id}' are still running") from None
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_delete("/api/v2/dags/{dag_id}", delete)
    base = "/api/v2/dags/{dag_id}/dagVersions"
    app.router.add_get(base, list_versions)
    app.router.add_get(base + "/{version_number}", get_version)
