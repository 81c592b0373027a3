"""Bulk ``PATCH`` of connections, pools and variables (:mod:`airlane.api.bulk`), and
``POST /api/v2/connections/defaults``.

Default connections: Airflow's ``create_default_connections`` adds some sixty connections, one
per provider's default id, most of them for cloud services. Airlane's equivalent adds the
general-purpose ones among them, with Airflow 3.1's values: ``fs_default``, ``http_default``,
``mysql_default``, ``postgres_default``, ``redis_default``, ``sqlite_default`` and
``ssh_default``; as Airflow, each only if no connection has its id yet (a 204 either way).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.bulk import BulkResource, handle
from airlane.api.connection_shapes import ConnectionBody, apply_patch, new_connection, parse_body
from airlane.api.connections import _admin, _load
from airlane.api.errors import ApiError, invalid, not_found
from airlane.api.inputs import no_team, opt_str
from airlane.api.pools import _slots, include_deferred
from airlane.api.variables import _value
from airlane.sdk.connection import Connection

DEFAULT_POOL = "default_pool"


async def _connection_ids(request: web.Request) -> set[str]:
    return set(await _admin(request).raw_all())


async def _put_connection(
    request: web.Request, body: ConnectionBody, exists: bool, mask: list[str] | None
) -> None:
    admin = _admin(request)
    if mask is None or not exists:  # a create (or overwrite) replaces it whole
        await admin.put(new_connection(body))
        return
    conn = await _load(admin, body.connection_id)
    if conn is None:
        raise not_found(f"The Connection with connection_id: `{body.connection_id}`")
    apply_patch(conn, body, mask)
    await admin.put(conn)


async def _remove_connection(request: web.Request, conn_id: str) -> None:
    await _admin(request).delete(conn_id)


def _pool(data: dict[str, Any]) -> dict[str, Any]:
    """PoolBody: name and slots required."""
    for field in data:
        if field not in {"name", "slots", "description", "include_deferred", "team_name"}:
            raise invalid("body", field, "Extra inputs are not permitted", data[field])
    name = opt_str(data, "name", 256)
    if not name:
        raise invalid("body", "name", "Field required", data.get("name"))
    no_team(data)
    return {"name": name, "slots": _slots(data, required=True), "description": data}


async def _pool_names(request: web.Request) -> set[str]:
    return set(await request.app[STORE].pools())


async def _put_pool(
    request: web.Request, pool: dict[str, Any], exists: bool, mask: list[str] | None
) -> None:
    store = request.app[STORE]
    given: dict[str, Any] = pool["description"]
    current = (await store.pools()).get(pool["name"], {})
    slots, description = pool["slots"], opt_str(given, "description")
    deferred = include_deferred(given, default=False)  # (PoolBody's default, as in Airflow)
    if mask:  # only the masked-in fields change
        slots = slots if "slots" in mask else int(current.get("slots", 0))
        description = description if "description" in mask else current.get("description")
        if "include_deferred" not in mask:
            deferred = bool(current.get("include_deferred", False))
    await store.set_pool(pool["name"], slots, description or "", deferred)


async def _remove_pool(request: web.Request, name: str) -> None:
    if name == DEFAULT_POOL:
        raise ApiError(400, "Default Pool can't be deleted")
    await request.app[STORE].delete_pool(name)


def _variable(data: dict[str, Any]) -> dict[str, Any]:
    for name in data:
        if name not in {"key", "value", "description", "team_name"}:
            raise invalid("body", name, "Extra inputs are not permitted", data[name])
    key = opt_str(data, "key", 250)
    if not key:
        raise invalid("body", "key", "Field required", data.get("key"))
    no_team(data)
    return {"key": key, "value": _value(data), "description": opt_str(data, "description")}


async def _variable_keys(request: web.Request) -> set[str]:
    return set(await request.app[STORE].variables())


async def _put_variable(
    request: web.Request, variable: dict[str, Any], exists: bool, mask: list[str] | None
) -> None:
    store = request.app[STORE]
    value, description = variable["value"], variable["description"]
    if mask:
        current = await store.variable(variable["key"]) or {}
        value = value if "value" in mask else str(current.get("value") or "")
        description = description if "description" in mask else current.get("description")
    await store.set_variable(variable["key"], value, description)


async def _remove_variable(request: web.Request, key: str) -> None:
    await request.app[STORE].delete_variable(key)


CONNECTIONS = BulkResource(
    "connections",
    "connection_id",
    parse_body,
    _connection_ids,
    _put_connection,
    _remove_connection,
)
POOLS = BulkResource("pools", "name", _pool, _pool_names, _put_pool, _remove_pool)
VARIABLES = BulkResource(
    "variables", "key", _variable, _variable_keys, _put_variable, _remove_variable
)


def default_connections() -> list[Connection]:
    """Airlane's default connections (Airflow 3.1's values for these ids)."""
    sqlite_path = os.path.join(tempfile.gettempdir(), "sqlite_default.db")
    return [
        Connection(conn_id="fs_default", conn_type="fs", extra='{"path": "/"}'),
        Connection(conn_id="http_default", conn_type="http", host="https://www.httpbin.org/"),
        Connection(
            conn_id="mysql_default", conn_type="mysql", login="root", schema="airflow", host="mysql"
        ),
        Connection(
            conn_id="postgres_default",
            conn_type="postgres",
            login="postgres",
            password="airflow",
            schema="airflow",
            host="postgres",
        ),
        Connection(
            conn_id="redis_default", conn_type="redis", host="redis", port=6379, extra='{"db": 0}'
        ),
        Connection(conn_id="sqlite_default", conn_type="sqlite", host=sqlite_path),
        Connection(conn_id="ssh_default", conn_type="ssh", host="localhost"),
    ]


async def create_defaults(request: web.Request) -> web.Response:
    admin = _admin(request)
    for conn in default_connections():
        await admin.add(conn)  # kept as it is if the id exists
    return web.Response(status=204)


async def bulk_connections(request: web.Request) -> web.Response:
    return await handle(request, CONNECTIONS)


async def bulk_pools(request: web.Request) -> web.Response:
    return await handle(request, POOLS)


async def bulk_variables(request: web.Request) -> web.Response:
    return await handle(request, VARIABLES)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v2/connections/defaults", create_defaults)
    app.router.add_patch("/api/v2/connections", bulk_connections)
    app.router.add_patch("/api/v2/pools", bulk_pools)
    app.router.add_patch("/api/v2/variables", bulk_variables)
