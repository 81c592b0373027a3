"""``/api/v2/connections``: Airflow's connections resource, stored in Redis (encrypted).

Responses never carry a password or a sensitive extra value (``connection_shapes``). Testing a
connection runs its hook's ``test_connection`` in the API server, so, as in Airflow, it is off
unless ``AIRLANE_TEST_CONNECTION`` (or Airflow's ``AIRFLOW__CORE__TEST_CONNECTION``) is
``Enabled``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.connection_shapes import (
    BODY_FIELDS,
    apply_patch,
    connection_response,
    new_connection,
    parse_body,
)
from airlane.api.errors import ApiError, conflict, json_response, not_found
from airlane.api.inputs import json_body, page, query_list
from airlane.sdk.connection import Connection
from airlane.service.connections.fernet import FernetKeyMissing
from airlane.service.connections.records import plain_fields
from airlane.service.connections.redis_store import ConnectionsAdmin

TEST_SWITCH_ENV = ("AIRLANE_TEST_CONNECTION", "AIRFLOW__CORE__TEST_CONNECTION")
#: order_by names -> the stored field (Airflow's SortParam for connections; no numeric id here)
_ORDER = {
    "connection_id": "connection_id",
    "conn_id": "connection_id",
    "id": "connection_id",
    "conn_type": "conn_type",
    "description": "description",
    "host": "host",
    "port": "port",
}


def _admin(request: web.Request) -> ConnectionsAdmin:
    store = request.app[STORE]
    return ConnectionsAdmin(store.client, store.keys)


def _missing(conn_id: str) -> ApiError:
    return not_found(f"The Connection with connection_id: `{conn_id}`")


async def _load(admin: ConnectionsAdmin, conn_id: str) -> Connection | None:
    try:
        return await admin.get(conn_id)
    except FernetKeyMissing as error:
        raise ApiError(500, str(error)) from None


def _sort(rows: list[dict[str, Any]], order_by: list[str]) -> None:
    listing.order_pairs(order_by, _ORDER)  # (Airflow's 400 for a field it cannot sort by)
    for name in reversed(order_by or ["connection_id"]):  # stable sorts: last key first
        field = _ORDER[name.lstrip("-")]
        present = [r for r in rows if r[field] is not None]
        absent = [r for r in rows if r[field] is None]
        present.sort(key=lambda r: r[field], reverse=name.startswith("-"))
        rows[:] = present + absent if not name.startswith("-") else absent + present


async def list_connections(request: web.Request) -> web.Response:
    limit, offset = page(request)
    order_by = query_list(request, "order_by")
    found = listing.searches(request, {"connection_id": "connection_id"})
    admin = _admin(request)
    raw = await admin.raw_all()
    rows = [{"connection_id": conn_id, **plain_fields(record)} for conn_id, record in raw.items()]
    rows = [row for row in rows if listing.keeps(row, found)]
    _sort(rows, order_by)
    chosen = rows[offset : offset + limit]
    items = []
    for row in chosen:
        conn = await _load(admin, row["connection_id"])
        if conn is not None:
            items.append(connection_response(conn))
    return json_response({"connections": items, "total_entries": len(rows)})


async def get_connection(request: web.Request) -> web.Response:
    conn_id = request.match_info["connection_id"]
    conn = await _load(_admin(request), conn_id)
    if conn is None:
        raise _missing(conn_id)
    return json_response(connection_response(conn))


async def create_connection(request: web.Request) -> web.Response:
    body = parse_body(await json_body(request, BODY_FIELDS))
    conn = new_connection(body)
    if not await _admin(request).add(conn):
        raise conflict(f"The Connection with connection_id: `{body.connection_id}` already exists")
    return json_response(connection_response(conn), status=201)


async def patch_connection(request: web.Request) -> web.Response:
    conn_id = request.match_info["connection_id"]
    body = parse_body(await json_body(request, BODY_FIELDS))
    if body.connection_id != conn_id:
        raise ApiError(
            400, "The connection_id in the request body does not match the URL parameter"
        )
    admin = _admin(request)
    conn = await _load(admin, conn_id)
    if conn is None:
        raise _missing(conn_id)
    apply_patch(conn, body, query_list(request, "update_mask"))
    await admin.put(conn)
    return json_response(connection_response(conn))


async def delete_connection(request: web.Request) -> web.Response:
    conn_id = request.match_info["connection_id"]
    if not await _admin(request).delete(conn_id):
        raise _missing(conn_id)
    return web.Response(status=204)


def testing_enabled() -> bool:
    for name in TEST_SWITCH_ENV:
        value = os.environ.get(name)
        if value is not None:
            return value.strip().lower() == "enabled"
    return False


def run_test(conn: Connection) -> tuple[bool, str]:
    # Hooks look their connection up by id in __init__: expose it as Airflow does, by a
    # transient environment variable for the time of the test.
    env_name = f"AIRFLOW_CONN_{(conn.conn_id or '').upper()}"
    os.environ[env_name] = conn.get_uri()
    try:
        return conn.test_connection()
    finally:
        os.environ.pop(env_name, None)


def ensure_testing_enabled() -> None:
    """Airflow's 403 while testing connections is not switched on."""
    if not testing_enabled():
        raise ApiError(
            403,
            "Testing connections is disabled in Airflow configuration. "
            "Contact your deployment admin to enable it.",
        )


async def test_connection(request: web.Request) -> web.Response:
    ensure_testing_enabled()
    body = parse_body(await json_body(request, BODY_FIELDS))
    transient_id = "airlane_test_" + secrets.token_hex(8)
    stored = await _load(_admin(request), body.connection_id)
    if stored is not None:  # the stored values, with what the body changes
        apply_patch(stored, body, [])
        stored.conn_id = transient_id
        conn = stored
    else:
        conn = new_connection(body, transient_id)
    status, message = await asyncio.to_thread(run_test, conn)
    return json_response({"status": status, "message": message})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/connections", list_connections)
    app.router.add_post("/api/v2/connections", create_connection)
    app.router.add_post("/api/v2/connections/test", test_connection)
    app.router.add_get("/api/v2/connections/{connection_id}", get_connection)
    app.router.add_patch("/api/v2/connections/{connection_id}", patch_connection)
    app.router.add_delete("/api/v2/connections/{connection_id}", delete_connection)
