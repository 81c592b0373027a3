"""Airflow 3's bulk body (``PATCH`` of a collection): actions create, update and delete, each
over a list of entities, answered with a ``BulkResponse``.

As Airflow's BulkService: the body is validated whole (422); then each action checks its
entities against what exists (``action_on_existence`` fail/skip/overwrite for create,
``action_on_non_existence`` fail/skip for update and delete) and either fails as a whole (an
error entry with Airflow's words and status) or applies to each entity, listing its key in
``success``. ``update_mask`` (newer Airflow's, which airflowctl sends) limits what an update
changes, as the single-entity PATCH's query parameter does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api.errors import ApiError, invalid, json_response
from airlane.api.inputs import json_body

_ACTION_FIELDS = {
    "create": {"action", "entities", "action_on_existence"},
    "update": {"action", "entities", "action_on_non_existence", "update_mask"},
    "delete": {"action", "entities", "action_on_non_existence"},
}
_ON_EXISTENCE = ("fail", "skip", "overwrite")
_ON_NON_EXISTENCE = ("fail", "skip")


@dataclass(frozen=True, slots=True)
class BulkResource:
    """What the engine needs of one resource (its handlers take the request)."""

    plural: str  # "connections": Airflow's words in error messages
    key_field: str  # "connection_id"
    #: validates one entity's body (raises a 422 ApiError), returning its parsed form
    parse: Callable[[dict[str, Any]], Any]
    existing: Callable[[web.Request], Awaitable[set[str]]]
    #: (request, parsed entity, it exists, update mask or None for a create)
    put: Callable[[web.Request, Any, bool, list[str] | None], Awaitable[None]]
    remove: Callable[[web.Request, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Action:
    kind: str
    entities: list[Any]  # parsed entities; keys (str) for a delete
    keys: list[str]
    policy: str
    update_mask: list[str] | None


def _choice(data: dict[str, Any], name: str, allowed: tuple[str, ...], where: str) -> str:
    value = data.get(name, "fail")
    if value not in allowed:
        choices = ", ".join(f"'{a}'" for a in allowed)
        raise invalid("body", f"{where}.{name}", f"Input should be {choices}", value)
    return str(value)


def _delete_key(resource: BulkResource, entity: Any, where: str) -> str:
    if isinstance(entity, str):
        return entity
    if isinstance(entity, dict):
        resource.parse(entity)  # an entity named by its body: a valid body
        return str(entity[resource.key_field])
    raise invalid("body", where, "Input should be a valid string or entity", entity)


@dataclass(frozen=True, slots=True)
class RawAction:
    """One action of a bulk body, checked but for its entities (each resource's own)."""

    kind: str
    entities: list[Any]
    update_mask: list[str] | None
    policy: str  # action_on_existence (create) or action_on_non_existence


def raw_action(data: Any, where: str) -> RawAction:
    """The action at ``where`` (``actions.<i>``) of a bulk body; a 422 naming what is wrong."""
    action = data.get("action") if isinstance(data, dict) else None
    if not isinstance(action, str) or action not in _ACTION_FIELDS:
        raise invalid("body", f"{where}.action", "Input should be 'create', 'update' or 'delete'")
    kind = str(data["action"])
    for name in data:
        if name not in _ACTION_FIELDS[kind]:
            raise invalid("body", f"{where}.{name}", "Extra inputs are not permitted", data[name])
    raw = data.get("entities")
    if not isinstance(raw, list):
        raise invalid("body", f"{where}.entities", "Input should be a valid list", raw)
    mask = data.get("update_mask")
    if mask is not None and not (isinstance(mask, list) and all(isinstance(m, str) for m in mask)):
        raise invalid("body", f"{where}.update_mask", "Input should be a valid list", mask)
    name = "action_on_existence" if kind == "create" else "action_on_non_existence"
    policy = _choice(data, name, _ON_EXISTENCE if kind == "create" else _ON_NON_EXISTENCE, where)
    return RawAction(kind, raw, mask, policy)


def parse_action(resource: BulkResource, data: Any, where: str) -> Action:
    checked = raw_action(data, where)
    kind, raw = checked.kind, checked.entities
    if kind == "delete":
        keys = [_delete_key(resource, e, f"{where}.entities.{i}") for i, e in enumerate(raw)]
        return Action(kind, list(keys), keys, checked.policy, None)
    parsed = []
    for entity in raw:
        if not isinstance(entity, dict):
            raise invalid("body", f"{where}.entities", "Input should be an object", entity)
        parsed.append(resource.parse(entity))
    keys = [str(e[resource.key_field]) for e in raw]
    return Action(kind, parsed, keys, checked.policy, checked.update_mask)


async def _apply(
    request: web.Request, resource: BulkResource, action: Action, result: dict[str, list[Any]]
) -> None:
    existing = await resource.existing(request)
    present = [k for k in action.keys if k in existing]
    absent = [k for k in action.keys if k not in existing]
    label = f"The {resource.plural} with these {resource.key_field}s"
    if action.kind == "create" and action.policy == "fail" and present:
        error = f"{label}: {set(present)} already exist."
        result["errors"].append({"error": error, "status_code": 409})
        return
    if action.kind != "create" and action.policy == "fail" and absent:
        error = f"{label}: {set(absent)} were not found."
        result["errors"].append({"error": error, "status_code": 404})
        return
    for key, entity in zip(action.keys, action.entities, strict=True):
        exists = key in existing
        try:
            if action.kind == "delete":
                if exists:
                    await resource.remove(request, key)
                    result["success"].append(key)
            elif action.kind == "create" and not (exists and action.policy == "skip"):
                await resource.put(request, entity, exists, None)
                result["success"].append(key)
            elif action.kind == "update" and exists:
                await resource.put(request, entity, True, action.update_mask or [])
                result["success"].append(key)
        except ApiError as error:
            result["errors"].append({"error": str(error.detail), "status_code": error.status})


async def handle(request: web.Request, resource: BulkResource) -> web.Response:
    body = await json_body(request, {"actions"})
    raw = body.get("actions")
    if not isinstance(raw, list):
        raise invalid("body", "actions", "Input should be a valid list", raw)
    actions = [parse_action(resource, a, f"actions.{i}") for i, a in enumerate(raw)]
    results: dict[str, dict[str, list[Any]] | None] = dict.fromkeys(_ACTION_FIELDS)
    for action in actions:
        result = results[action.kind] or {"success": [], "errors": []}
        results[action.kind] = result
        await _apply(request, resource, action, result)
    return json_response(results)
