"""Human-in-the-loop details, as Airflow 3.1's API: list them, read one, answer one.

``GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails`` (``~`` for any DAG or run),
``GET`` and ``PATCH .../taskInstances/{task_id}/{map_index}/hitlDetails``. An answer is
checked against the request (options, ``multiple``, params) and refused with a 422 naming the
field; it is stored once (a second one is a 409) and fires the trigger the waiting try
deferred on (a ``hitl_answers`` notice: :mod:`airlane.queue.hitl`).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.dag_runs import load_run
from airlane.api.errors import ApiError, conflict, invalid, json_response
from airlane.api.hitl_shapes import (
    can_respond,
    detail_shape,
    list_filter,
    response_shape,
    sort_shapes,
)
from airlane.api.inputs import json_body, page, path_int
from airlane.api.instance_lookup import find_instance, path_ids
from airlane.api.shapes import task_instance_response, ti_id
from airlane.api.task_instances import tries_of
from airlane.queue import hitl as hitl_keys
from airlane.queue.store import Store
from airlane.sdk.hitl_detail import HITLDetail, HITLIdent, HITLResponse, response_problems

ANONYMOUS = "anonymous"


async def _instance_detail(
    request: web.Request,
) -> tuple[HITLIdent, HITLDetail, dict[str, Any]]:
    """The detail the path names, with its task instance's shape; 404s as Airflow's."""
    map_index = path_int(request, "map_index")
    dag, run, tis, key = await find_instance(request, map_index)
    dag_id, run_id = path_ids(request)
    store = request.app[STORE]
    details = await hitl_keys.run_details(store.client, store.keys, dag_id, run_id)
    detail = details.get(key)
    if detail is None:
        the_id = ti_id(dag_id, run_id, *key)
        raise ApiError(
            404, f"Human-in-the-loop detail does not exist for Task Instance with id {the_id}"
        )
    ident = HITLIdent(dag_id, run_id, *key)
    return ident, detail, task_instance_response(dag, run, key, *tis[key])


async def get_detail(request: web.Request) -> web.Response:
    _, detail, ti = await _instance_detail(request)
    return json_response(detail_shape(detail, ti))


async def get_try_detail(request: web.Request) -> web.Response:
    """One try's detail (HITLDetailHistory: the try as TaskInstanceHistoryResponse). Airlane
    keeps the latest try's request only: an earlier try's is Airflow's 404 for a try without
    one."""
    wanted = path_int(request, "try_number")
    ident, detail, ti = await _instance_detail(request)
    tries = {entry["try_number"]: entry for entry in await tries_of(request)}
    if wanted not in tries:
        raise ApiError(
            404,
            f"The Task Instance with dag_id: `{ident.dag_id}`, run_id: `{ident.run_id}`, "
            f"task_id: `{ident.task_id}` and map_index: `{ident.map_index}` was not found",
        )
    if detail.request.try_number != wanted:
        raise ApiError(
            404, f"Human-in-the-loop detail does not exist for Task Instance with id {ti['id']}"
        )
    return json_response(detail_shape(detail, tries[wanted]))


def _responder(request: web.Request) -> dict[str, str]:
    name = request.get("user")
    return {"id": name, "name": name} if name else {"id": ANONYMOUS, "name": ANONYMOUS}


async def patch_detail(request: web.Request) -> web.Response:
    body = await json_body(request, {"chosen_options", "params_input"})
    if "chosen_options" not in body:
        raise invalid("body", "chosen_options", "Field required")
    ident, detail, _ = await _instance_detail(request)
    the_id = ti_id(ident.dag_id, ident.run_id, ident.task_id, ident.map_index)
    if detail.response is not None:
        raise conflict(
            f"Human-in-the-loop detail has already been updated for Task Instance with id "
            f"{the_id} and is not allowed to write again."
        )
    user = _responder(request)
    if not can_respond(detail.request, request.get("user")):
        who = f"User={user['name']} (id={user['id']})"
        raise ApiError(403, f"{who} is not a respondent for the task.")
    given = body.get("params_input")
    params_input = {} if given is None else given  # null: none given (the document allows it)
    problems = response_problems(detail.request, body["chosen_options"], params_input)
    if problems:
        where, message = problems[0]
        raise invalid("body", where, message, body.get(where.split(".")[0]))
    response = HITLResponse(
        chosen_options=tuple(body["chosen_options"]),
        params_input=dict(params_input),
        responded_at_s=time.time(),
        try_number=detail.request.try_number,
        responded_by=user,
    )
    if not await hitl_keys.respond(request.app[STORE], ident, response):
        raise conflict(
            f"Human-in-the-loop detail has already been updated for Task Instance with id "
            f"{the_id} and is not allowed to write again."
        )
    return json_response(response_shape(response))


async def _run_shapes(store: Store, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The shapes of one run's details; [] when the run is gone."""
    details = await hitl_keys.run_details(store.client, store.keys, dag_id, run_id)
    run = await store.run(dag_id, run_id)
    if run is None:
        await hitl_keys.forget_run(store.client, store.keys, dag_id, run_id)
        return []
    if not details:
        return []
    dag = await store.dag(dag_id)
    tis = await store.task_instances(dag_id, run_id)
    return [
        detail_shape(detail, task_instance_response(dag, run, key, *tis[key]))
        for key, detail in details.items()
        if key in tis
    ]


async def list_details(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    limit, offset = page(request)
    keep = list_filter(request)
    if "~" in (dag_id, run_id):
        refs = [
            (d, r)
            for d, r in await hitl_keys.hitl_run_refs(store.client, store.keys)
            if dag_id in ("~", d) and run_id in ("~", r)
        ]
    else:
        await load_run(store, dag_id, run_id)
        refs = [(dag_id, run_id)]
    shapes: list[dict[str, Any]] = []
    for one_dag, one_run in refs:
        shapes += [s for s in await _run_shapes(store, one_dag, one_run) if keep(s)]
    shapes = sort_shapes(shapes, request)
    return json_response(
        {"hitl_details": shapes[offset : offset + limit], "total_entries": len(shapes)}
    )


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"
    app.router.add_get(base + "/hitlDetails", list_details)
    one = base + "/taskInstances/{task_id}/{map_index}/hitlDetails"
    app.router.add_get(one, get_detail)
    app.router.add_patch(one, patch_detail)
    app.router.add_get(one + "/tries/{try_number:-?\\d+}", get_try_detail)
