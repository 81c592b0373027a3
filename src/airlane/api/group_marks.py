"""A task group's instances marked together (Airflow's ``taskGroupInstances``): every task of
the group, nested groups' too, and as the body asks their relatives and the same instances of
earlier and later runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from airlane.api import ti_filters
from airlane.api.appkeys import STORE
from airlane.api.dag_runs import load_run
from airlane.api.errors import ApiError, conflict, json_response, not_found
from airlane.api.instance_lookup import TIs, path_ids
from airlane.api.shapes import ti_collection
from airlane.api.task_instances import MarkRequest, mark_request, other_runs, with_relatives
from airlane.queue.keys import ti_field
from airlane.sdk.state import TaskInstanceState


async def _selection(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, str], TIs, TIs, MarkRequest]:
    """The DAG, the run, the group's instances, those the mark would reach (relatives too),
    and the request; Airflow's 404s for an unknown group or a run without its instances."""
    marking = await mark_request(request)
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    group_id = request.match_info["group_id"]
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Dag with id {dag_id}")
    run = await load_run(store, dag_id, run_id)
    members = ti_filters.group_tasks(dag, group_id)
    if members is None:
        raise _missing(f"Task group '{group_id}' not found in DAG '{dag_id}'")
    tis = await store.task_instances(dag_id, run_id)
    group = {key: value for key, value in tis.items() if key[0] in members}
    if not group:
        message = f"No task instances found for task group '{group_id}' in dag run '{run_id}'"
        raise _missing(message)
    return dag, run, group, with_relatives(dag, tis, group, marking), marking


def _missing(message: str) -> ApiError:
    return ApiError(404, message)


def _altered(tis: TIs, new_state: str) -> TIs:
    """The instances a mark to ``new_state`` changes (Airflow's set_state: state distinct)."""
    return {key: value for key, value in tis.items() if value[0].state.value != new_state}


def _as(tis: TIs, new_state: str) -> TIs:
    state = TaskInstanceState(new_state)
    return {key: (replace(record, state=state), meta) for key, (record, meta) in tis.items()}


async def patch_group(request: web.Request) -> web.Response:
    """PATCH .../taskGroupInstances/{group_id}: mark the group's instances; the answer lists
    every instance the mark changed (those of other runs too), in its new state; Airflow's 409
    when none would change."""
    store = request.app[STORE]
    dag, run, group, chosen, marking = await _selection(request)
    if marking.new_state is None:
        return json_response(ti_collection(dag, run, group))
    state = marking.new_state
    here = _altered(chosen, state)
    others = [
        (o.run, _altered(o.chosen, state))
        for o in await other_runs(store, run, chosen, marking.span)
    ]
    if not here and not any(tis for _, tis in others):
        raise conflict(f"All task instances in the group are already in {state} state")
    items: list[dict[str, Any]] = []
    for one_run, tis in [(run, here), *others]:
        if tis:
            marks = {ti_field(*key): state for key in tis}
            await store.mark(one_run["dag_id"], one_run["run_id"], marks)
            items += ti_collection(dag, one_run, _as(tis, state))["task_instances"]
    return json_response({"task_instances": items, "total_entries": len(items)})


async def patch_group_dry_run(request: web.Request) -> web.Response:
    """The instances a PATCH with the same body would change, as they are now."""
    store = request.app[STORE]
    dag, run, group, chosen, marking = await _selection(request)
    if marking.new_state is None:
        return json_response(ti_collection(dag, run, group))
    state = marking.new_state
    items = ti_collection(dag, run, _altered(chosen, state))["task_instances"]
    for other in await other_runs(store, run, chosen, marking.span):
        items += ti_collection(dag, other.run, _altered(other.chosen, state))["task_instances"]
    return json_response({"task_instances": items, "total_entries": len(items)})


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskGroupInstances/{group_id}"
    app.router.add_patch(base, patch_group)
    app.router.add_patch(base + "/dry_run", patch_group_dry_run)
