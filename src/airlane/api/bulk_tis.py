"""``PATCH .../dagRuns/{dag_run_id}/taskInstances``: Airflow 3.3's bulk body over task
instances. An update marks instances as PATCH of one does (a state, relatives, earlier and
later runs); with ``~`` in the path each entity names its DAG and run. Creating instances is
not a thing (Airflow's 405 entry), and Airlane does not delete one out of its run: a delete
gets its own 405 entry saying so (clear the instance, or delete the run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.bulk import RawAction, raw_action
from airlane.api.errors import ApiError, invalid, json_response
from airlane.api.inputs import json_body
from airlane.api.instance_lookup import TIs, path_ids, task_instances_of
from airlane.api.task_instances import (
    MARK_FIELDS,
    MarkRequest,
    other_runs,
    parse_mark,
    with_relatives,
)
from airlane.queue.keys import ti_field
from airlane.queue.store import Store

_KINDS = ("create", "update", "delete")
_ENTITY = {*MARK_FIELDS, "task_id", "map_index", "dag_id", "dag_run_id"}
NOT_DELETED = (
    "Airlane does not delete a task instance out of its run: clear it "
    "(clearTaskInstances) to run it again, or delete the run"
)

Result = dict[str, list[Any]]


@dataclass(frozen=True)
class Target:
    """One entity of an update: the instances it names and the mark it asks for."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int | None  # None: every instance of the task
    marking: MarkRequest


def _entity(data: Any, where: str, mask: list[str] | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("body", where, "Input should be a valid BulkTaskInstanceBody", data)
    for name in set(data) - _ENTITY:
        raise invalid("body", f"{where}.{name}", "Extra inputs are not permitted", data[name])
    if not isinstance(data.get("task_id"), str):
        raise invalid("body", f"{where}.task_id", "Input should be a valid string")
    index = data.get("map_index")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
        raise invalid("body", f"{where}.map_index", "Input should be a valid integer", index)
    for name in ("dag_id", "dag_run_id"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise invalid("body", f"{where}.{name}", "Input should be a valid string", data[name])
    fields = set(data) & set(mask) if mask else set(data)
    parse_mark(data, fields)  # (a bad state or a note: the whole body's 422)
    return data


def _target(path: tuple[str, str], data: dict[str, Any], mask: list[str] | None) -> Target:
    dag_id = data.get("dag_id") or path[0]
    run_id = data.get("dag_run_id") or path[1]
    fields = set(data) & set(mask) if mask else set(data)
    return Target(dag_id, run_id, data["task_id"], data.get("map_index"), parse_mark(data, fields))


def _wildcard(target: Target) -> str | None:
    if target.dag_id == "~" or target.run_id == "~":
        return (
            "When using wildcard in path, dag_id and dag_run_id must be specified in request "
            f"body for task_id: {target.task_id}"
        )
    return None


async def _update(store: Store, path: tuple[str, str], action: RawAction, result: Result) -> None:
    mask = action.update_mask
    targets: list[Target] = []
    for entity in action.entities:
        if isinstance(entity, str):
            error = (
                "Bulk update requires a BulkTaskInstanceBody object, not a string for "
                f"task_id: {entity}"
            )
            result["errors"].append({"error": error, "status_code": 400})
            continue
        target = _target(path, entity, mask)
        wildcard = _wildcard(target)
        if wildcard:
            result["errors"].append({"error": wildcard, "status_code": 400})
        else:
            targets.append(target)
    found = {t: await _instances(store, t) for t in targets}
    missing = [t for t, tis in found.items() if not tis[1]]
    if missing and action.policy == "fail":
        named = [
            {
                "dag_id": t.dag_id,
                "dag_run_id": t.run_id,
                "task_id": t.task_id,
                "map_index": t.map_index,
            }
            for t in missing
        ]
        error = f"The task instances with these identifiers: {named} were not found"
        result["errors"].append({"error": error, "status_code": 404})
        return
    for target, (all_tis, mine) in found.items():
        if mine:
            try:
                await _mark(store, target, all_tis, mine)
            except ApiError as problem:
                result["errors"].append(
                    {"error": str(problem.detail), "status_code": problem.status}
                )
                continue
            result["success"] += [
                f"{target.dag_id}.{target.run_id}.{task_id}[{index}]"
                for task_id, index in sorted(mine)
            ]


async def _instances(store: Store, target: Target) -> tuple[TIs, TIs]:
    """The run's instances and the target's among them (none when the run is unknown)."""
    if await store.run(target.dag_id, target.run_id) is None:
        return {}, {}
    tis = await store.task_instances(target.dag_id, target.run_id)
    return tis, task_instances_of(tis, target.task_id, target.map_index)


async def _mark(store: Store, target: Target, tis: TIs, mine: TIs) -> None:
    """The target's mark, as PATCH of one instance does it; Airflow's 409 when it would
    change nothing."""
    state = target.marking.new_state
    if state is None:
        return
    dag = await store.dag(target.dag_id)
    run = await store.run(target.dag_id, target.run_id) or {}
    chosen = with_relatives(dag, tis, mine, target.marking)
    others = await other_runs(store, run, chosen, target.marking.span)
    changing = [k for k, v in chosen.items() if v[0].state.value != state]
    if not changing and all(v[0].state.value == state for o in others for v in o.chosen.values()):
        raise ApiError(409, f"Task id {target.task_id} is already in {state} state")
    await store.mark(target.dag_id, target.run_id, {ti_field(*key): state for key in chosen})
    for other in others:
        marks = {ti_field(*key): state for key in other.chosen}
        await store.mark(target.dag_id, other.run["run_id"], marks)


def _parse(raw: Any) -> list[RawAction]:
    if not isinstance(raw, list):
        raise invalid("body", "actions", "Input should be a valid list", raw)
    actions = [raw_action(data, f"actions.{i}") for i, data in enumerate(raw)]
    for i, action in enumerate(actions):
        for j, entity in enumerate(action.entities):
            if not isinstance(entity, str):
                _entity(entity, f"actions.{i}.entities.{j}", action.update_mask)
    return actions


async def bulk_tis(request: web.Request) -> web.Response:
    store = request.app[STORE]
    path = path_ids(request)
    body = await json_body(request, {"actions"})
    results: dict[str, Result | None] = dict.fromkeys(_KINDS)
    for action in _parse(body.get("actions")):
        kind = action.kind
        result = results[kind] or {"success": [], "errors": []}
        results[kind] = result
        if kind == "create":
            error = "Task instances bulk create is not supported"
            result["errors"].append({"error": error, "status_code": 405})
        elif kind == "delete":
            result["errors"].append({"error": NOT_DELETED, "status_code": 405})
        else:
            await _update(store, path, action, result)
    return json_response(results)


async def delete_ti(request: web.Request) -> web.Response:
    """DELETE of one task instance: refused (405), as the bulk delete is."""
    raise ApiError(405, NOT_DELETED)


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
    app.router.add_patch(base, bulk_tis)
    app.router.add_delete(base + "/{task_id}", delete_ti)
