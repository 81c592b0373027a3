"""A task instance's XCom entries, as Airflow's API lists and reads them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.errors import json_response, not_found
from airlane.api.instance_lookup import find_instance, map_index_of, path_ids
from airlane.api.shapes import iso


async def list_xcoms(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    _dag, run, _tis, key = await find_instance(request, map_index_of(request))
    entries = [
        _xcom_entry(dag_id, run_id, run, key, name, value)
        for name, value in sorted((await store.xcoms(dag_id, run_id, key[0], key[1])).items())
    ]
    return json_response({"xcom_entries": entries, "total_entries": len(entries)})


async def get_xcom(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    _dag, run, _tis, key = await find_instance(request, map_index_of(request))
    name = request.match_info["xcom_key"]
    values = await store.xcoms(dag_id, run_id, key[0], key[1])
    if name not in values:
        raise not_found(f"XCom entry with key: `{name}`")
    return json_response(_xcom_entry(dag_id, run_id, run, key, name, values[name]))


def _xcom_entry(
    dag_id: str, run_id: str, run: dict[str, str], key: tuple[str, int], name: str, value: Any
) -> dict[str, Any]:
    return {
        "key": name,
        "timestamp": iso(run.get("end_date") or run.get("start_date") or run.get("queued_at")),
        "logical_date": run.get("logical_date") or None,
        "map_index": key[1],
        "task_id": key[0],
        "dag_id": dag_id,
        "run_id": run_id,
        "dag_display_name": dag_id,
        "task_display_name": key[0],
        "run_after": run.get("logical_date") or iso(run.get("queued_at")),
        "value": value,
    }


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"
    app.router.add_get(base + "/xcomEntries", list_xcoms)
    app.router.add_get(base + "/xcomEntries/{xcom_key}", get_xcom)
