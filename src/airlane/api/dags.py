"""``/api/v2/dags``: list, read, pause and unpause DAGs; their tasks and source."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from airlane.api import dag_filters, listing
from airlane.api.appkeys import DATA_INTERVALS_DEFAULT, STORE
from airlane.api.asset_shapes import asset_expression
from airlane.api.errors import ApiError, conflict, invalid, json_response, not_found
from airlane.api.inputs import json_body, page, query_bool, query_int, query_list
from airlane.api.next_run import shared, with_next_run
from airlane.api.shapes import dag_response, dag_run_response, task_spec, version_response
from airlane.engine.retry_policy import backoff_multiplier
from airlane.queue import api_reads, asset_reads
from airlane.queue.dag_admin import dag_versions
from airlane.queue.keys import parse_run_ref
from airlane.queue.store import Store
from airlane.sdk.timezone import utcnow


async def _all_dags(request: web.Request) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every DAG Airlane holds: its DAGResponse and its serialized form."""
    store = request.app[STORE]
    hashes = await store.dag_hashes()
    paused, stale = await store.paused_dags(), await store.inactive_dags()
    errors = await store.import_errors()
    files = await store.dag_files()
    schedules = await api_reads.schedule_entries(store)
    now = utcnow()
    found = []
    for dag_id in sorted(hashes):
        dag = await store.snapshot(hashes[dag_id])
        if dag is None:
            continue
        response = dag_response(
            dag,
            paused=dag_id in paused,
            stale=dag_id in stale,
            has_import_errors=files.get(dag_id) in errors,
        )
        shown = await _with_next_run(request, response, dag, schedules.get(dag_id), now)
        found.append((shown, dag))
    return found


async def _with_next_run(
    request: web.Request,
    response: dict[str, Any],
    dag: dict[str, Any],
    last_raw: str | None,
    now: datetime,
) -> dict[str, Any]:
    """``next_dagrun_*``: the run the scheduler makes next (once unpaused, for a paused DAG)."""
    next_runs = shared(request.app[DATA_INTERVALS_DEFAULT])
    return with_next_run(response, await next_runs.upcoming(dag, last_raw, now))


async def list_dags(request: web.Request) -> web.Response:
    """GET /dags with Airflow 3.3's filters and order (api/dag_filters.py)."""
    limit, offset = page(request)
    tags, tags_mode = _tags_query(request)
    paused = query_bool(request, "paused")
    chosen_by = await _with_favorites(
        request, dag_filters.from_query(request, request.app[DATA_INTERVALS_DEFAULT])
    )
    store = request.app[STORE]
    found = []
    for shape, dag in await _all_dags(request):
        if (paused is not None and shape["is_paused"] != paused) or not _tags_match(
            shape, tags, tags_mode
        ):
            continue
        last = await _last_run(store, shape["dag_id"]) if chosen_by.needs_runs else None
        if chosen_by.keeps(shape, dag, last):
            found.append((shape, last))
    for name, descending in reversed(chosen_by.order):
        found.sort(
            key=lambda pair: listing.sort_key(dag_filters.value_of(pair[0], name, pair[1])),
            reverse=descending,
        )
    dags = [shape for shape, _ in found]
    return json_response({"dags": dags[offset : offset + limit], "total_entries": len(dags)})


async def _last_run(store: Store, dag_id: str) -> dict[str, Any] | None:
    """The DAG's latest run (the newest of its runs), as the listing's run filters see it."""
    runs = await store.runs(dag_id, await store.run_page(dag_id, 0, 1))
    return dag_run_response(None, runs[0]) if runs else None


def _tags_query(request: web.Request) -> tuple[list[str], str]:
    """``tags`` and ``tags_match_mode`` (any or all) of the query."""
    mode = request.query.get("tags_match_mode", "any")
    if mode not in {"any", "all"}:
        raise invalid("query", "tags_match_mode", "Input should be 'any' or 'all'", mode)
    return query_list(request, "tags"), mode


def _tags_match(dag: dict[str, Any], wanted: list[str], mode: str) -> bool:
    if not wanted:
        return True
    names = {t["name"] for t in dag["tags"]}
    return all(w in names for w in wanted) if mode == "all" else any(w in names for w in wanted)


def _user(request: web.Request) -> str:
    """The asking API user's name (favourites are per user)."""
    return str(request.get("user") or "")


async def _with_favorites(
    request: web.Request, chosen_by: dag_filters.DagFilter
) -> dag_filters.DagFilter:
    if chosen_by.is_favorite is None:
        return chosen_by
    favorites = await request.app[STORE].favorites(_user(request))
    return replace(chosen_by, favorites=frozenset(favorites))


async def favorite(request: web.Request) -> web.Response:
    """POST /dags/{dag_id}/favorite: one of the asking user's favourite DAGs (again: a no-op)."""
    dag_id = await _known_dag(request)
    await request.app[STORE].set_favorite(_user(request), dag_id, True)
    return web.Response(status=204)


async def unfavorite(request: web.Request) -> web.Response:
    """POST /dags/{dag_id}/unfavorite; Airflow's 409 when it was not one."""
    dag_id = await _known_dag(request)
    if not await request.app[STORE].set_favorite(_user(request), dag_id, False):
        raise conflict("Dag is not marked as favorite")
    return web.Response(status=204)


async def _known_dag(request: web.Request) -> str:
    dag_id = request.match_info["dag_id"]
    if await request.app[STORE].dag(dag_id) is None:
        raise ApiError(404, f"Dag with id '{dag_id}' not found")
    return dag_id


async def _one(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Dag with id {dag_id}")
    errors = await store.import_errors()
    files = await store.dag_files()
    response = dag_response(
        dag,
        paused=await store.is_paused(dag_id),
        stale=dag_id in await store.inactive_dags(),
        has_import_errors=files.get(dag_id) in errors,
    )
    last_raw = await api_reads.schedule_entry(store, dag_id)
    return dag, await _with_next_run(request, response, dag, last_raw, utcnow())


async def get_dag(request: web.Request) -> web.Response:
    _, response = await _one(request)
    return json_response(response)


def ui_option_fields(dag: dict[str, Any]) -> dict[str, Any]:
    """Airflow 2's UI options and access_control as the DAG sets them (Airflow 2's DAG details
    had them; Airflow 3's API has none: extra fields here, as task_groups)."""
    return {
        "default_view": dag.get("default_view", "grid"),
        "orientation": dag.get("orientation", "LR"),
        "access_control": dag.get("access_control"),
    }


async def _latest_version(request: web.Request, dag: dict[str, Any]) -> dict[str, Any] | None:
    versions = await dag_versions(request.app[STORE], dag["dag_id"])
    if not versions:
        return None
    last = versions[-1]
    display = dag.get("dag_display_name") or dag["dag_id"]
    dag_id = dag["dag_id"]
    return version_response(dag_id, display, last.number, last.content_hash, last.created_at_s)


async def _running_runs(request: web.Request, dag_id: str) -> int:
    """How many of the DAG's runs are running now (Airflow's active_runs_count)."""
    store = request.app[STORE]
    refs = [parse_run_ref(ref) for ref in await store.active_run_refs()]
    mine = [run_id for one, run_id in refs if one == dag_id]
    runs = [await store.run(dag_id, run_id) for run_id in mine]
    return sum(1 for run in runs if run is not None and run.get("state") == "running")


async def get_dag_details(request: web.Request) -> web.Response:
    dag, response = await _one(request)
    response.update(
        {
            "catchup": bool(dag.get("catchup")),
            "dag_run_timeout": dag.get("dagrun_timeout_s"),
            "doc_md": dag.get("doc_md"),
            "start_date": dag.get("start_date"),
            "end_date": dag.get("end_date"),
            "is_paused_upon_creation": dag.get("is_paused_upon_creation"),
            "params": dag.get("params") or {},
            "render_template_as_native_obj": bool(dag.get("render_template_as_native_obj")),
            "timezone": dag.get("timezone"),
            "owner_links": dag.get("owner_links") or {},
            "template_search_path": None,
            "concurrency": response["max_active_tasks"],
            "latest_dag_version": await _latest_version(request, dag),
            "last_parsed": response["last_parsed_time"],
            "fail_fast": bool(dag.get("fail_stop")),
            "default_args": None,
            "active_runs_count": await _running_runs(request, response["dag_id"]),
            "is_favorite": response["dag_id"] in await request.app[STORE].favorites(_user(request)),
            **ui_option_fields(dag),
            # Airlane: the task groups, for the graph view (Airflow's UI reads them privately)
            "task_groups": [
                {k: g.get(k) for k in ("group_id", "label", "parent", "tooltip", "children")}
                | {"group_display_name": g.get("group_display_name") or g.get("label")}
                for g in dag.get("task_groups") or []
            ],
            "asset_expression": await _asset_expression(request, dag),
        }
    )
    return json_response(response)


async def _asset_expression(request: web.Request, dag: dict[str, Any]) -> dict[str, Any] | None:
    """Airflow's ``asset_expression``: the DAG's asset condition with each asset's id."""
    schedule = dag.get("schedule")
    if not isinstance(schedule, dict) or schedule.get("kind") not in ("assets", "asset_or_time"):
        return None
    store = request.app[STORE]
    ids = await asset_reads.ids_by_name(store.client, store.keys)
    return asset_expression(schedule, ids)


async def _is_paused_body(request: web.Request) -> bool:
    """The DAGPatchBody's ``is_paused`` (the only field; ``update_mask`` may name only it)."""
    body = await json_body(request, {"is_paused"})
    mask = query_list(request, "update_mask")
    if mask and mask != ["is_paused"]:
        raise ApiError(400, "Only `is_paused` field can be updated through the REST API")
    paused = body.get("is_paused")
    if not isinstance(paused, bool):
        raise invalid("body", "is_paused", "Input should be a valid boolean", paused)
    return paused


async def patch_dags(request: web.Request) -> web.Response:
    """PATCH /dags: pause or unpause every DAG the filters match (Airflow's: none unless
    ``dag_id_pattern`` or ``dag_id_prefix_pattern`` is given; ``~`` for all); the page of
    them, as they are after."""
    limit, offset = page(request)
    paused = await _is_paused_body(request)
    tags, tags_mode = _tags_query(request)
    only = query_bool(request, "paused")
    # (Airflow's patch_dags takes these filters only; GET /dags's others are not its)
    chosen_by = dag_filters.DagFilter(
        searches=listing.searches(request, {"dag_id": "dag_id"}),
        owners=tuple(query_list(request, "owners")),
        exclude_stale=query_bool(request, "exclude_stale") is not False,
    )
    named = {"dag_id_pattern", "dag_id_prefix_pattern"} & set(request.query)
    matched = [
        shape["dag_id"]
        for shape, dag in await _all_dags(request)
        if named
        and (only is None or shape["is_paused"] == only)
        and _tags_match(shape, tags, tags_mode)
        and chosen_by.keeps(shape, dag, None)
    ]
    store = request.app[STORE]
    for dag_id in matched:
        await store.set_paused(dag_id, paused)
    shapes = {shape["dag_id"]: shape for shape, _ in await _all_dags(request)}
    dags = [shapes[d] for d in matched[offset : offset + limit] if d in shapes]
    return json_response({"dags": dags, "total_entries": len(matched)})


async def patch_dag(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    paused = await _is_paused_body(request)
    if await store.dag(dag_id) is None:
        raise not_found(f"Dag with id {dag_id}")
    await store.set_paused(dag_id, paused)
    _, response = await _one(request)
    return json_response(response)


def task_response(dag: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """TaskResponse."""
    return {
        "task_id": spec["task_id"],
        "task_display_name": spec.get("task_display_name") or spec["task_id"],
        "owner": spec.get("owner"),
        "start_date": spec.get("start_date"),
        "end_date": spec.get("end_date"),
        "trigger_rule": spec.get("trigger_rule"),
        "depends_on_past": bool(spec.get("depends_on_past")),
        "wait_for_downstream": bool(spec.get("wait_for_downstream")),
        "retries": spec.get("retries"),
        "queue": spec.get("queue"),
        "pool": spec.get("pool"),
        "pool_slots": spec.get("pool_slots"),
        "execution_timeout": None,
        "retry_delay": None,
        # (Airflow 3.3's multiplier: a float, True read as 2.0)
        "retry_exponential_backoff": backoff_multiplier(spec.get("retry_exponential_backoff")),
        "priority_weight": spec.get("priority_weight"),
        "weight_rule": spec.get("weight_rule"),
        "ui_color": spec.get("ui_color"),
        "ui_fgcolor": spec.get("ui_fgcolor"),
        "template_fields": spec.get("template_fields") or [],
        "downstream_task_ids": spec.get("downstream") or [],
        "doc_md": spec.get("doc_md"),
        "operator_name": spec.get("operator"),
        "params": spec.get("params") or {},
        "class_ref": {
            "module_path": spec.get("operator_module"),
            "class_name": spec.get("operator"),
        },
        "is_mapped": spec.get("mapped") is not None,
        "extra_links": [link["name"] for link in spec.get("extra_links") or []],
    }


async def list_tasks(request: web.Request) -> web.Response:
    dag, _ = await _one(request)
    tasks = [task_response(dag, spec) for spec in dag.get("tasks", [])]
    order_by = request.query.get("order_by") or "task_id"  # (an empty one: the default)
    ((field, descending),) = listing.order_pairs(
        [order_by], ("task_id", "task_display_name", "priority_weight")
    )
    tasks.sort(key=lambda t: t[field] or 0, reverse=descending)
    return json_response({"tasks": tasks, "total_entries": len(tasks)})


async def get_task(request: web.Request) -> web.Response:
    dag, _ = await _one(request)
    task_id = request.match_info["task_id"]
    spec = task_spec(dag, task_id)
    if spec is None:
        raise not_found(f"Task with id {task_id}")
    return json_response(task_response(dag, spec))


async def get_source(request: web.Request) -> web.Response:
    """The DAG's file as it is now: its latest version's source (``version_number``: that
    version; Airlane keeps no older source, so an older one is Airflow's "Code not found");
    plain text for ``Accept: text/plain``, as Airflow answers."""
    dag, _ = await _one(request)
    dag_id = dag["dag_id"]
    numbers = [v.number for v in await dag_versions(request.app[STORE], dag_id)]
    latest = numbers[-1] if numbers else None
    if "version_number" in request.query:
        wanted = query_int(request, "version_number", 0, None, None)
        if wanted not in numbers:
            raise not_found(f"The source code of the Dag {dag_id}, version_number {wanted}")
        if wanted != latest:
            raise ApiError(
                404,
                f"Code not found. dag_id='{dag_id}' version_number='{wanted}' (Airlane keeps "
                "the source of a DAG's latest version only)",
            )
    fileloc = str(dag.get("fileloc") or "")
    try:
        content = await asyncio.to_thread(Path(fileloc).read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        content = None
    if request.headers.get("Accept", "").startswith("text/plain"):
        return web.Response(text=content or "", content_type="text/plain")
    return json_response(
        {
            "dag_id": dag_id,
            "dag_display_name": dag.get("dag_display_name") or dag_id,
            "content": content,
            "version_number": latest,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/dags", list_dags)
    app.router.add_get("/api/v2/dags/{dag_id}", get_dag)
    app.router.add_patch("/api/v2/dags", patch_dags)
    app.router.add_patch("/api/v2/dags/{dag_id}", patch_dag)
    app.router.add_post("/api/v2/dags/{dag_id}/favorite", favorite)
    app.router.add_post("/api/v2/dags/{dag_id}/unfavorite", unfavorite)
    app.router.add_get("/api/v2/dags/{dag_id}/details", get_dag_details)
    app.router.add_get("/api/v2/dags/{dag_id}/tasks", list_tasks)
    app.router.add_get("/api/v2/dags/{dag_id}/tasks/{task_id}", get_task)
    app.router.add_get("/api/v2/dagSources/{dag_id}", get_source)
