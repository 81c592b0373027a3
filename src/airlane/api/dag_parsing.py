"""``PUT /api/v2/parseDagFile/{file_token}``: parse a DAG's file at the DAG processor's next
pass (about a second), changed or not. Airlane's file token is the DAG's ``file_token`` as
its DAG answers show it (the content hash of its current version)."""

from __future__ import annotations

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, json_response


async def reparse(request: web.Request) -> web.Response:
    store = request.app[STORE]
    token = request.match_info["file_token"]
    hashes = await store.dag_hashes()
    files = await store.dag_files()
    paths = {
        files[dag_id] for dag_id, found in hashes.items() if found == token and dag_id in files
    }
    if not paths:
        raise ApiError(404, f"No Dag file found for the file token {token!r}")
    for path in sorted(paths):
        await store.request_parse(path)
    return json_response(None, 201)


def add_routes(app: web.Application) -> None:
    app.router.add_put("/api/v2/parseDagFile/{file_token}", reparse)
