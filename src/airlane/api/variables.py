"""``/api/v2/variables``: what ``Variable.get`` and ``{{ var.value.x }}`` read on workers."""

from __future__ import annotations

import json
from typing import Any

import orjson
from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, conflict, invalid, json_response, not_found
from airlane.api.inputs import json_body, masked_fields, no_team, opt_str, page
from airlane.sdk.secrets_masker import redact

_FIELDS = {"key", "value", "description", "team_name"}


def redacted_value(key: str, value: str | None) -> str | None:
    """Airflow's ``VariableResponse``: a JSON object's sensitive keys, or the whole text of a
    variable with a sensitive name (``api_key``, ``password``...), read ``***``."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return str(redact(value, key))
    if not isinstance(parsed, (dict, list)):
        return value  # Airflow re-dumps it unchanged in meaning; keep the stored text
    return json.dumps(redact(parsed))


def variable_response(key: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "value": redacted_value(key, entry.get("value")),
        "description": entry.get("description"),
        "is_encrypted": False,
        "team_name": None,
    }


def _value(body: dict[str, Any]) -> str:
    if "value" not in body:
        raise invalid("body", "value", "Field required")
    no_team(body)
    value = body["value"]
    # Airflow stores text; other JSON values are stored as their JSON text.
    return value if isinstance(value, str) else orjson.dumps(value).decode()


async def list_variables(request: web.Request) -> web.Response:
    limit, offset = page(request)
    found = await request.app[STORE].variables()
    items = [variable_response(k, v) for k, v in sorted(found.items())]
    items = listing.listed(
        request,
        items,
        searches_of={"variable_key": "key"},
        order_fields=("key", "id", "_val", "description", "is_encrypted", "team_name"),
        value=listing.aliased({"id": "key", "_val": "value"}),  # (by key: no row ids)
    )
    return json_response({"variables": items[offset : offset + limit], "total_entries": len(items)})


async def get_variable(request: web.Request) -> web.Response:
    key = request.match_info["variable_key"]
    entry = await request.app[STORE].variable(key)
    if entry is None:
        raise not_found(f"The Variable with key: `{key}`")
    return json_response(variable_response(key, entry))


async def create_variable(request: web.Request) -> web.Response:
    store = request.app[STORE]
    body = await json_body(request, _FIELDS)
    key = opt_str(body, "key", 250)
    if not key:
        raise invalid("body", "key", "Field required", body.get("key"))
    if await store.variable(key) is not None:
        raise conflict(f"The Variable with key: `{key}` already exists")
    await store.set_variable(key, _value(body), opt_str(body, "description"))
    entry = await store.variable(key) or {}
    return json_response(variable_response(key, entry), status=201)


async def patch_variable(request: web.Request) -> web.Response:
    store = request.app[STORE]
    key = request.match_info["variable_key"]
    body = await json_body(request, _FIELDS)
    current = await store.variable(key)
    if current is None:
        raise not_found(f"The Variable with key: `{key}`")
    if body.get("key") not in (None, key):  # Airflow's status and words for it
        raise ApiError(400, "Invalid body, key from request body doesn't match uri parameter")
    fields = masked_fields(request, body, frozenset({"key"}))
    value = _value(body) if "value" in fields else str(current.get("value") or "")
    description = (
        opt_str(body, "description") if "description" in fields else current.get("description")
    )
    await store.set_variable(key, value, description)
    return json_response(variable_response(key, await store.variable(key) or {}))


async def delete_variable(request: web.Request) -> web.Response:
    key = request.match_info["variable_key"]
    if not await request.app[STORE].delete_variable(key):
        raise not_found(f"The Variable with key: `{key}`")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/variables", list_variables)
    app.router.add_post("/api/v2/variables", create_variable)
    app.router.add_get("/api/v2/variables/{variable_key}", get_variable)
    app.router.add_patch("/api/v2/variables/{variable_key}", patch_variable)
    app.router.add_delete("/api/v2/variables/{variable_key}", delete_variable)
