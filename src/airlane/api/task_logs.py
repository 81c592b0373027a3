"""A try's log, as Airflow 3's ``get_log`` serves it: in pages, or streamed whole.

- ``application/json`` (the default): one page of at most ``PAGE_MAX_BYTES`` and a
  ``continuation_token`` to pass back as ``token`` for the next one; the token is null once
  the log has been read to its end and the try has ended (while it runs, the token lets a
  client poll for the lines added since). ``full_content=true`` returns the rest of the log
  in one JSON document, written page by page as it is read.
- ``application/x-ndjson``: the rest of the log streamed, one ``{"event": ...}`` per line,
  with ``Airflow-Continuation-Token`` set while the try runs.
- ``text/plain``: the rest of the log streamed as text.

Whatever the form, the API process holds one page at a time.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, json_response, not_found
from airlane.api.inputs import path_int, query_bool
from airlane.api.instance_lookup import find_instance, map_index_of, path_ids
from airlane.queue import api_reads
from airlane.queue.log_pages import BadToken, decode_token, encode_token

#: The states in which a try may still add lines to its log.
LIVE_STATES = frozenset({"queued", "running", "deferred", "up_for_reschedule", "restarting"})
NDJSON = "application/x-ndjson"
TOKEN_HEADER = "Airflow-Continuation-Token"


def _start(request: web.Request) -> str | None:
    token = request.query.get("token")
    if not token:
        return None
    try:
        return decode_token(token)
    except BadToken:
        raise ApiError(
            400, "Bad Signature. Please use only the tokens provided by the API."
        ) from None


async def serve_log(request: web.Request, log_key: str, live: bool) -> web.StreamResponse:
    """Respond with the log stored at ``log_key``; ``live``: the try may still write to it."""
    store = request.app[STORE]
    after = _start(request)
    accept = request.headers.get("Accept", "")
    if NDJSON in accept:
        content_type = NDJSON
    elif "text/plain" in accept:
        content_type = "text/plain"
    elif query_bool(request, "full_content"):
        content_type = "application/json"
    else:
        page = await api_reads.log_page(store, log_key, after)
        token = encode_token(page.position) if page.more or live else None
        return json_response(
            {"content": [{"event": line} for line in page.lines], "continuation_token": token}
        )
    return await _stream_rest(request, log_key, after, live, content_type)


def _encode(lines: list[str], content_type: str, first: bool) -> bytes:
    if content_type == NDJSON:
        return b"".join(orjson.dumps({"event": line}) + b"\n" for line in lines)
    if content_type == "text/plain":
        return "".join(line + "\n" for line in lines).encode()
    chunk = b",".join(orjson.dumps({"event": line}) for line in lines)
    return chunk if first else b"," + chunk


async def _stream_rest(
    request: web.Request, log_key: str, after: str | None, live: bool, content_type: str
) -> web.StreamResponse:
    store = request.app[STORE]
    # A full read stops at the entry that was last when it began: a try that keeps writing
    # cannot make it endless, and the token (while the try runs) says where to go on.
    until = await api_reads.log_end(store, log_key)
    token = encode_token(until or after) if live else None
    response = web.StreamResponse(
        headers={TOKEN_HEADER: token} if token and content_type == NDJSON else None
    )
    response.content_type = content_type
    response.charset = "utf-8"
    await response.prepare(request)
    as_json = content_type == "application/json"
    if as_json:
        await response.write(b'{"content":[')
    first = True
    if until is not None:
        async for lines in api_reads.log_rest(store, log_key, after, until):
            await response.write(_encode(lines, content_type, first))
            first = False
    if as_json:
        await response.write(b'],"continuation_token":' + orjson.dumps(token) + b"}")
    await response.write_eof()
    return response


async def get_log(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    try_number = path_int(request, "try_number")
    _, _, tis, key = await find_instance(request, map_index_of(request))
    record = tis[key][0]
    if not 1 <= try_number <= max(1, record.try_number):
        raise not_found(f"Try {try_number} of {key[0]}")
    live = try_number == record.try_number and record.state.value in LIVE_STATES
    log_key = store.keys.log(dag_id, run_id, key[0], key[1], try_number)
    return await serve_log(request, log_key, live)


async def external_log_url(request: web.Request) -> web.Response:
    """Airflow's answer where the task log handler links to no external log system (Airlane
    keeps logs in Redis: ``get_log`` reads them)."""
    raise ApiError(400, "Task log handler does not support external logs.")


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
    app.router.add_get(base + "/{task_id}/externalLogUrl/{try_number}", external_log_url)
    app.router.add_get(base + "/{task_id}/logs/{try_number}", get_log)
