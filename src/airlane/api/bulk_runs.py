"""``PATCH /api/v2/dags/{dag_id}/dagRuns``: Airflow 3.3's bulk body over runs. Runs are
updated (state and note, as PATCH of one run) or deleted; creating runs is the trigger's
work (Airflow's 405 entry). With ``~`` as the DAG every entity names its own DAG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.bulk import raw_action
from airlane.api.dag_runs import set_run_state
from airlane.api.errors import invalid, json_response
from airlane.api.inputs import json_body, opt_choice, opt_str
from airlane.queue.store import Store

_KINDS = ("create", "update", "delete")
_ENTITY = {"dag_run_id", "dag_id", "state", "note"}
_MUTABLE = {"queued", "success", "failed"}  # (Airflow's DagRunMutableStates)

Key = tuple[str, str]
Result = dict[str, list[Any]]


@dataclass(frozen=True)
class Entity:
    """A BulkDAGRunBody, or a delete's bare run id (``named``: False)."""

    dag_run_id: str
    dag_id: str | None
    state: str | None
    note: str | None
    named: bool = True


def _entity(data: Any, where: str) -> Entity:
    if isinstance(data, str):
        return Entity(data, None, None, None, named=False)
    if not isinstance(data, dict):
        raise invalid("body", where, "Input should be a valid string or BulkDAGRunBody", data)
    for name in set(data) - _ENTITY:
        raise invalid("body", f"{where}.{name}", "Extra inputs are not permitted", data[name])
    run_id, dag_id = data.get("dag_run_id"), data.get("dag_id")
    if not isinstance(run_id, str):
        raise invalid("body", f"{where}.dag_run_id", "Input should be a valid string", run_id)
    if dag_id is not None and not isinstance(dag_id, str):
        raise invalid("body", f"{where}.dag_id", "Input should be a valid string", dag_id)
    message = "Input should be 'queued', 'success' or 'failed'"
    state = opt_choice({"state": data.get("state")}, "state", _MUTABLE, message)
    note = opt_str({"note": data.get("note")}, "note", 1000)
    return Entity(run_id, dag_id, state, note)


@dataclass(frozen=True)
class Action:
    kind: str
    entities: list[Entity]
    missing_policy: str
    #: an update's fields to change (None: those an entity sets)
    update_mask: frozenset[str] | None


def _action(data: Any, where: str) -> Action:
    checked = raw_action(data, where)
    entities = [_entity(e, f"{where}.entities.{i}") for i, e in enumerate(checked.entities)]
    mask = checked.update_mask
    return Action(checked.kind, entities, checked.policy, None if mask is None else frozenset(mask))


def _key(dag_id: str, entity: Entity, result: Result) -> Key | None:
    """The run an entity names (its own DAG, else the path's); Airflow's 400 entry when
    neither is concrete."""
    own = entity.dag_id or dag_id
    if own == "~" or entity.dag_run_id == "~":
        if entity.named:
            error = (
                "When using wildcard in path, dag_id must be specified in request body for"
                f" dag_run_id: {entity.dag_run_id}"
            )
        else:
            error = (
                "When using wildcard in path, dag_id must be specified in BulkDAGRunBody"
                f" object, not as string for dag_run_id: {entity.dag_run_id}"
            )
        result["errors"].append({"error": error, "status_code": 400})
        return None
    return own, entity.dag_run_id


async def _keys(
    store: Store, dag_id: str, action: Action, result: Result
) -> tuple[dict[Key, Entity], dict[Key, dict[str, str]]] | None:
    """The named runs and those of them that exist; None when the action fails as a whole
    (an entry in ``result``)."""
    named: dict[Key, Entity] = {}
    for entity in action.entities:
        if action.kind == "update" and not entity.named:
            error = (
                "Bulk update requires a BulkDAGRunBody object,"
                f" not a string for dag_run_id: {entity.dag_run_id}"
            )
            result["errors"].append({"error": error, "status_code": 400})
            continue
        key = _key(dag_id, entity, result)
        if key is not None:
            named[key] = entity
    found = {key: run for key in named if (run := await store.run(*key)) is not None}
    missing = sorted(set(named) - set(found))
    if missing and action.missing_policy == "fail":
        error = f"The DagRuns with these identifiers: {missing} were not found"
        result["errors"].append({"error": error, "status_code": 404})
        return None
    return named, found


async def _update(store: Store, dag_id: str, action: Action, result: Result) -> None:
    keys = await _keys(store, dag_id, action, result)
    if keys is None:
        return
    named, found = keys
    for key, entity in named.items():
        if key not in found:
            continue
        mask = action.update_mask
        if entity.state is not None and (mask is None or "state" in mask):
            await set_run_state(store, *key, entity.state)
        if mask is not None and "note" in mask:
            await store.set_run_note(*key, entity.note or "")  # (a masked null note clears it)
        elif mask is None and entity.note is not None:
            await store.set_run_note(*key, entity.note)
        result["success"].append(".".join(key))


async def _delete(store: Store, dag_id: str, action: Action, result: Result) -> None:
    keys = await _keys(store, dag_id, action, result)
    if keys is None:
        return
    _, found = keys
    for key in sorted(found):
        state = found[key].get("state")
        if state not in _MUTABLE:
            dag_id_, run_id = key
            error = (
                f"The DagRun with dag_id: `{dag_id_}` and run_id: `{run_id}` "
                f"cannot be deleted in {state} state"
            )
            result["errors"].append({"error": error, "status_code": 409})
            continue
        await store.delete_run(*key)
        result["success"].append(".".join(key))


async def bulk_runs(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    body = await json_body(request, {"actions"})
    raw = body.get("actions")
    if not isinstance(raw, list):
        raise invalid("body", "actions", "Input should be a valid list", raw)
    actions = [_action(a, f"actions.{i}") for i, a in enumerate(raw)]
    results: dict[str, Result | None] = dict.fromkeys(_KINDS)
    for action in actions:
        result = results[action.kind] or {"success": [], "errors": []}
        results[action.kind] = result
        if action.kind == "create":
            error = (
                "Dag Runs bulk create is not supported. Use the trigger Dag Run endpoint instead."
            )
            result["errors"].append({"error": error, "status_code": 405})
        elif action.kind == "update":
            await _update(store, dag_id, action, result)
        else:
            await _delete(store, dag_id, action, result)
    return json_response(results)


def add_routes(app: web.Application) -> None:
    app.router.add_patch("/api/v2/dags/{dag_id}/dagRuns", bulk_runs)
