"""Airflow 3.3's queued connection test: ``POST /api/v2/connections/enqueue-test`` answers at
once (202) with a token, ``GET /api/v2/connections/enqueue-test`` with the token in the
``Airflow-Connection-Test-Token`` header polls the test's state (pending, running, success,
failed) and message.

Airflow runs the test on a worker of the executor (and queue) the body names; Airlane runs it
in the API server's background, as its ``POST /connections/test`` does at once, so a body
naming an executor or a queue is refused (422 naming the field). The body is tested as given
(Airflow's: not merged with a stored connection of that id), and ``commit_on_success`` saves
it when the test passes. One test per connection at a time (Airflow's 409); at most
``MAX_RUNNING`` tests run at once in an API server (the others wait, pending). A test gets
``TIME_LIMIT_S`` (then it failed, and saves nothing); its state is kept an hour, and one whose
API server stopped before it ended reads as failed once its time limit has passed.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from airlane.api.appkeys import CONNECTION_TEST_SLOTS, CONNECTION_TESTS, STORE
from airlane.api.connection_shapes import (
    BODY_FIELDS,
    ConnectionBody,
    new_connection,
    parse_body,
)
from airlane.api.connections import _admin, ensure_testing_enabled, run_test
from airlane.api.errors import ApiError, conflict, invalid, json_response
from airlane.api.inputs import json_body, opt_bool
from airlane.queue.store import Store
from airlane.service.connections.redis_store import ConnectionsAdmin

KEPT_S = 3600
MAX_RUNNING = 4
#: a test still queued or running after this long lost its API server
TIME_LIMIT_S = 300
TOKEN_HEADER = "Airflow-Connection-Test-Token"
_FIELDS = {*BODY_FIELDS, "commit_on_success", "executor", "queue"}


async def enqueue(request: web.Request) -> web.Response:
    ensure_testing_enabled()
    data = await json_body(request, _FIELDS)
    for name in ("executor", "queue"):
        if data.get(name) is not None:
            message = "Airlane tests connections in its API server: no executor or queue to pick"
            raise invalid("body", name, message, data[name])
    commit = opt_bool(data, "commit_on_success", False)
    body = parse_body({k: v for k, v in data.items() if k in BODY_FIELDS})
    store = request.app[STORE]
    token = secrets.token_urlsafe(24)
    active = store.keys.connection_test_active(body.connection_id)
    if not await store.client.set(active, token, nx=True, ex=TIME_LIMIT_S):
        raise conflict(
            f"An active connection test already exists for connection_id `{body.connection_id}`."
        )
    created_s = time.time()
    await _write(store, token, body.connection_id, "pending", None, created_s)
    slots = request.app[CONNECTION_TEST_SLOTS]
    task = asyncio.create_task(_run(store, _admin(request), token, body, commit, created_s, slots))
    running = request.app[CONNECTION_TESTS]
    running.add(task)
    task.add_done_callback(running.discard)
    answer = {"token": token, "connection_id": body.connection_id, "state": "pending"}
    return json_response(answer, 202)


async def _write(
    store: Store, token: str, conn_id: str, state: str, message: str | None, created_s: float
) -> None:
    entry = {"connection_id": conn_id, "state": state, "message": message, "at": created_s}
    await store.client.set(store.keys.connection_test(token), orjson.dumps(entry), ex=KEPT_S)


async def _run(
    store: Store,
    admin: ConnectionsAdmin,
    token: str,
    body: ConnectionBody,
    commit: bool,
    created_s: float,
    slots: asyncio.Semaphore,
) -> None:
    conn_id = body.connection_id
    passed, message = False, "the test did not finish"
    try:
        async with slots:
            await _write(store, token, conn_id, "running", None, created_s)
            conn = new_connection(body, "airlane_test_" + secrets.token_hex(8))
            left_s = TIME_LIMIT_S - (time.time() - created_s)
            passed, message = await asyncio.wait_for(asyncio.to_thread(run_test, conn), left_s)
        if passed and commit:
            await admin.put(new_connection(body))
    except TimeoutError:
        passed, message = False, f"The test did not end within {TIME_LIMIT_S} s"
    except Exception as err:  # (the test's own failure is its message, not a lost task)
        passed, message = False, f"{type(err).__name__}: {err}"
    finally:
        state = "success" if passed else "failed"
        await _write(store, token, conn_id, state, message, created_s)
        active = store.keys.connection_test_active(conn_id)
        if await store.client.get(active) == token:
            await store.client.delete(active)


async def poll(request: web.Request) -> web.Response:
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        raise invalid("header", TOKEN_HEADER, "Field required")
    store = request.app[STORE]
    raw = await store.client.get(store.keys.connection_test(token))
    if raw is None:
        raise ApiError(404, f"No connection test found for token: `{token}`")
    entry: dict[str, Any] = orjson.loads(raw)
    state, message = entry["state"], entry["message"]
    if state in ("pending", "running") and time.time() - entry["at"] > TIME_LIMIT_S + 5:
        state, message = "failed", "The API server running the test stopped before it ended"
    return json_response(
        {
            "token": token,
            "connection_id": entry["connection_id"],
            "state": state,
            "result_message": message,
            "created_at": datetime.fromtimestamp(entry["at"], UTC).isoformat(),
        }
    )


async def _cancel_running(app: web.Application) -> None:
    under_way: set[asyncio.Task[None]] = app[CONNECTION_TESTS]
    running = list(under_way)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


def add_routes(app: web.Application) -> None:
    app[CONNECTION_TESTS] = set()
    app[CONNECTION_TEST_SLOTS] = asyncio.Semaphore(MAX_RUNNING)
    app.on_cleanup.append(_cancel_running)
    app.router.add_post("/api/v2/connections/enqueue-test", enqueue)
    app.router.add_get("/api/v2/connections/enqueue-test", poll)
