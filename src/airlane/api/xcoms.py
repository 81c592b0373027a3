"""A task instance's XCom entries, as Airflow's API lists and reads them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, conflict, invalid, json_response, not_found
from airlane.api.inputs import as_int, json_body, page, query_bool, query_int
from airlane.api.instance_lookup import find_instance, map_index_of, map_index_or_all, path_ids
from airlane.api.shapes import iso, run_after
from airlane.queue.xcom_writes import add_xcom, delete_xcom
from airlane.sdk.serde import deserialize as decode_xcom
from airlane.sdk.serde import stringify

#: Airflow's SortParam of the listing (``run_after`` its run's)
XCOM_ORDER = ("key", "dag_id", "run_id", "task_id", "map_index", "timestamp", "run_after")
_DEFAULT_ORDER = ("dag_id", "task_id", "run_id", "map_index", "key")
_SEARCHES = {
    "xcom_key": "key",
    "dag_display_name": "dag_display_name",
    "run_id": "run_id",
    "task_id": "task_id",
}


async def list_xcoms(request: web.Request) -> web.Response:
    """Airflow 3.3's listing of XCom entries: ``~`` for any DAG, run or task; ``map_index``
    (absent: every one) and ``xcom_key``; the searches, ``map_index_filter``, the
    logical_date and run_after ranges, ``order_by`` and the page."""
    limit, offset = page(request)
    index = map_index_or_all(request)
    wanted_key = request.query.get("xcom_key")
    searches = listing.searches(request, _SEARCHES)
    ranges = listing.date_ranges(request, ("logical_date", "run_after"))
    by_index = listing.query_ints(request, "map_index_filter")
    order = listing.query_order(request, XCOM_ORDER, _DEFAULT_ORDER)
    entries = [
        entry
        for entry in await _entries(request)
        if (index is None or entry["map_index"] == index)
        and (wanted_key is None or entry["key"] == wanted_key)
        and (not by_index or entry["map_index"] == by_index[0])
        and listing.keeps(entry, searches)
        and listing.in_ranges(entry, ranges)
    ]
    listing.sort_by(entries, order)
    return json_response(
        {"xcom_entries": entries[offset : offset + limit], "total_entries": len(entries)}
    )


async def _entries(request: web.Request) -> list[dict[str, Any]]:
    """Every XCom entry of the DAGs, runs and tasks the path names (``~``: any)."""
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    task_id = request.match_info["task_id"]
    entries = []
    for one in sorted(await store.dag_hashes()) if dag_id == "~" else [dag_id]:
        dag = await store.dag(one)
        if dag is None:
            continue
        tasks = [t["task_id"] for t in dag.get("tasks", [])] if task_id == "~" else [task_id]
        run_ids = await store.all_run_ids(one) if run_id == "~" else [run_id]
        runs = {run["run_id"]: run for run in await store.runs(one, run_ids)}
        pairs = [(r, t) for r in runs for t in tasks]
        shown = dag.get("dag_display_name") or one
        names = {t["task_id"]: t.get("task_display_name") or t["task_id"] for t in dag["tasks"]}
        for (r, t), found in zip(pairs, await store.xcoms_of_tasks(one, pairs), strict=True):
            for (index, name), value in found.items():
                entry = _xcom_entry(one, r, runs[r], (t, index), name, value)
                entry["dag_display_name"], entry["task_display_name"] = shown, names.get(t, t)
                entries.append(entry)
    return entries


async def get_xcom(request: web.Request) -> web.Response:
    """As stored (serde's JSON data, sdk/serde.py); ``deserialize=true``: each object in its
    readable form, no class imported (Airflow's ``deserialize(full=False)``); ``stringify=true``:
    the value as one Python ``str``, as Airflow's XComResponseString gives it."""
    readable = query_bool(request, "deserialize") or False
    as_text = query_bool(request, "stringify") or False
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    _dag, run, _tis, key = await find_instance(request, map_index_of(request))
    name = request.match_info["xcom_key"]
    values = await store.xcoms(dag_id, run_id, key[0], key[1])
    if name not in values:
        raise not_found(f"XCom entry with key: `{name}`")
    value = stringify(values[name]) if readable else values[name]
    if as_text and value is not None:
        value = str(value)
    return json_response(_xcom_entry(dag_id, run_id, run, key, name, value))


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
        "run_after": run_after(run),
        "value": value,
    }


async def get_extra_links(request: web.Request) -> web.Response:
    """Airflow's ExtraLinkCollectionResponse: each extra link of the task (as the DAG processor
    recorded them) with the URL its try pushed (None before one did), by name. ``try_number``:
    an earlier try's (the links read the instance's XCom entries, as Airflow's do for a past
    try's history record); one the instance never had is Airflow's 404."""
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    dag, _run, tis, key = await find_instance(request, map_index_of(request))
    if "try_number" in request.query:
        wanted = query_int(request, "try_number", 0, None, None)
        current = tis[key][0].try_number
        if wanted != current and not 1 <= wanted < current:
            raise ApiError(404, f"TaskInstanceHistory not found for try_number={wanted}")
    tasks: list[dict[str, Any]] = (dag or {}).get("tasks", [])
    spec: dict[str, Any] = next((t for t in tasks if t["task_id"] == key[0]), {})
    values = await store.xcoms(dag_id, run_id, key[0], key[1])
    links = {}
    for link in spec.get("extra_links") or []:
        url = decode_xcom(values[link["xcom_key"]]) if link["xcom_key"] in values else None
        links[link["name"]] = url or None
    return json_response({"extra_links": dict(sorted(links.items())), "total_entries": len(links)})


def _body_map_index(body: dict[str, Any]) -> int:
    raw = body.get("map_index", -1)
    index = as_int(raw)
    if index is None:
        raise invalid("body", "map_index", "Input should be a valid integer", raw)
    return index


def _required_value(body: dict[str, Any]) -> Any:
    if "value" not in body:
        raise invalid("body", "value", "Field required")
    return body["value"]


async def create_xcom(request: web.Request) -> web.Response:
    """Airflow's XComCreateBody; 409 if the instance already has the key."""
    body = await json_body(request, {"key", "value", "map_index"})
    name = body.get("key")
    if not isinstance(name, str):
        raise invalid("body", "key", "Input should be a valid string", name)
    value = _required_value(body)
    dag_id, run_id = path_ids(request)
    _dag, run, _tis, key = await find_instance(request, _body_map_index(body))
    ident = (dag_id, run_id, key[0], key[1])
    if not await add_xcom(request.app[STORE], ident, name, value, replace=False):
        raise conflict(f"The XCom with key: `{name}` with mentioned task instance already exists.")
    return json_response(_xcom_entry(dag_id, run_id, run, key, name, value), status=201)


async def update_xcom(request: web.Request) -> web.Response:
    body = await json_body(request, {"value", "map_index"})
    value = _required_value(body)
    dag_id, run_id = path_ids(request)
    _dag, run, _tis, key = await find_instance(request, _body_map_index(body))
    name = request.match_info["xcom_key"]
    store = request.app[STORE]
    if name not in await store.xcoms(dag_id, run_id, key[0], key[1]):
        raise _missing(name)
    await add_xcom(store, (dag_id, run_id, key[0], key[1]), name, value, replace=True)
    return json_response(_xcom_entry(dag_id, run_id, run, key, name, value))


async def remove_xcom(request: web.Request) -> web.Response:
    """DELETE (airflowctl's ``xcom delete``; Airflow 3.1's API has no such route): 204."""
    dag_id, run_id = path_ids(request)
    _dag, _run, _tis, key = await find_instance(request, map_index_of(request))
    name = request.match_info["xcom_key"]
    if not await delete_xcom(request.app[STORE], (dag_id, run_id, key[0], key[1]), name):
        raise _missing(name)
    return web.Response(status=204)


def _missing(name: str) -> Exception:
    return not_found(f"The XCom with key: `{name}` with mentioned task instance")


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"
    app.router.add_get(base + "/xcomEntries", list_xcoms)
    app.router.add_get(base + "/xcomEntries/{xcom_key}", get_xcom)
    app.router.add_post(base + "/xcomEntries", create_xcom)
    app.router.add_patch(base + "/xcomEntries/{xcom_key}", update_xcom)
    app.router.add_delete(base + "/xcomEntries/{xcom_key}", remove_xcom)
    app.router.add_get(base + "/links", get_extra_links)
