"""``GET /api/v2/events``: run events as Server-Sent Events, resumable with Last-Event-ID.

Each SSE event's ``id`` is its entry ID in the events stream, so a client that reconnects
with ``Last-Event-ID`` (or ``?last_event_id=``) reads on from exactly there: every event it
missed, once, in order (as long as the capped stream still holds it). Without one it gets
only new events, except that a subscriber to one run (``dag_id`` and ``run_id``) gets that
run's events from its creation on. ``task_id`` narrows a run's events to one task; with
``logs=true`` its log lines follow too, from the first line of a try running already.
``kind`` (repeatable) keeps only events of those kinds (``run``, ``ti``, ``dag``...).
Comments (``: keepalive``) keep idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from redis.exceptions import ResponseError

from airlane.api.appkeys import STORE
from airlane.api.errors import invalid
from airlane.api.inputs import query_bool
from airlane.queue import typed
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.keys import parse_run_ref, parse_ti_field
from airlane.queue.store import Store

HEARTBEAT_S = 15.0
#: how far before a run's queued_at its events are looked for (clocks of API and Redis hosts)
CLOCK_MARGIN_MS = 5000
SUBSCRIBERS = web.AppKey("sse_subscribers", set[asyncio.Task[Any]])
_STREAM_ID = re.compile(r"\d+-\d+")
READ_COUNT = 500


def event_payload(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The JSON data of one SSE event (pure)."""
    millis = int(entry_id.split("-", 1)[0])
    data: dict[str, Any] = {
        "kind": fields.get("kind", ""),
        "at": datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z"),
    }
    if "run" in fields:
        data["dag_id"], data["run_id"] = parse_run_ref(fields["run"])
    if "ti" in fields:
        data["task_id"], data["map_index"] = parse_ti_field(fields["ti"])
    for name in ("state", "dag_id", "hash", "worker"):
        if name in fields:
            data[name] = fields[name]
    if "try_number" in fields:
        data["try_number"] = int(fields["try_number"])
    return data


def wanted(
    data: dict[str, Any],
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None = None,
    kinds: frozenset[str] = frozenset(),
) -> bool:
    if kinds and data.get("kind") not in kinds:
        return False
    if dag_id is not None and data.get("dag_id") not in (dag_id, None):
        return False
    if run_id is not None and data.get("run_id") != run_id:
        return False
    if task_id is not None and data.get("task_id") != task_id:
        return False
    if dag_id is not None and "dag_id" not in data:
        return bool(data["kind"] == "import_errors")
    return True


def sse(entry_id: str | None, kind: str, data: dict[str, Any]) -> bytes:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


async def stream_events(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    dag_id = request.query.get("dag_id") or None
    run_id = request.query.get("run_id") or None
    task_id = request.query.get("task_id") or None
    if task_id and not (dag_id and run_id):
        raise invalid("query", "task_id", "task_id needs dag_id and run_id", task_id)
    with_logs = bool(query_bool(request, "logs"))
    kinds = frozenset(request.query.getall("kind", []))
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id") or "$"
    if last != "$" and not _STREAM_ID.fullmatch(last):
        raise invalid("header", "Last-Event-ID", "Expected a stream ID like 1700000000000-0", last)
    gap = await _trimmed_since(store, last)  # only for a position the client gave
    if last == "$" and dag_id and run_id:
        # Following one run: its events from its creation on, then live.
        run = await store.run(dag_id, run_id)
        if run and run.get("queued_at"):
            since_ms = int(float(run["queued_at"]) * 1000) - CLOCK_MARGIN_MS
            last = f"{max(0, since_ms)}-0"
    if last == "$":
        # Start from the newest entry now, so that nothing between this read and the next is
        # lost (XREAD with "$" on every call would skip what arrived in between).
        newest = await store.client.xrevrange(store.keys.events, count=1)
        last = str(newest[0][0]) if newest else "0-0"
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    tails: dict[str, str] = {}  # log stream -> last line read, for logs=true
    tailed: dict[str, dict[str, Any]] = {}  # log stream -> the try it belongs to
    if with_logs and task_id and dag_id and run_id:
        # Following one task: a try running now is tailed from its first line at once.
        for (one, map_index), (record, _) in (await store.task_instances(dag_id, run_id)).items():
            if one == task_id and record.state.value == "running":
                following: dict[str, Any] = {
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "task_id": task_id,
                    "map_index": map_index,
                    "try_number": record.try_number,
                }
                key = store.keys.log(dag_id, run_id, task_id, map_index, record.try_number)
                tails[key], tailed[key] = "0-0", following
    subscribers = request.app[SUBSCRIBERS]
    me = asyncio.current_task()
    assert me is not None
    subscribers.add(me)
    try:
        await response.write(b": connected\n\n")
        if gap is not None:
            # The capped stream no longer holds everything after the client's last event.
            await response.write(sse(None, "gap", {"kind": "gap", "since": last, "oldest": gap}))
        while True:
            streams = {store.keys.events: last, **tails}
            try:
                found = await typed.xread(
                    store.client, streams, READ_COUNT, int(HEARTBEAT_S * 1000)
                )
            except TRANSIENT_ERRORS:
                await response.write(b": redis unavailable, retrying\n\n")
                continue
            if not found:
                await response.write(b": keepalive\n\n")
                continue
            for stream, entries in found:
                for entry_id, fields in entries:
                    if stream == store.keys.events:
                        last = entry_id
                        data = event_payload(entry_id, fields)
                        if not wanted(data, dag_id, run_id, task_id, kinds):
                            continue
                        await response.write(sse(entry_id, data["kind"], data))
                        if with_logs and data["kind"] == "ti" and data.get("state") == "running":
                            key = store.keys.log(
                                data["dag_id"],
                                data["run_id"],
                                data["task_id"],
                                data["map_index"],
                                data["try_number"],
                            )
                            tails.setdefault(key, "0-0")
                            tailed[key] = _try_of(data)
                    else:
                        tails[stream] = entry_id
                        line = {
                            "kind": "log",
                            "stream": stream,
                            **tailed.get(stream, {}),
                            "line": fields.get("line", ""),
                        }
                        await response.write(sse(None, "log", line))
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    finally:
        subscribers.discard(me)
    return response


def _try_of(data: dict[str, Any]) -> dict[str, Any]:
    """Which try a log line belongs to, as its ``running`` event named it."""
    names = ("dag_id", "run_id", "task_id", "map_index", "try_number")
    return {name: data[name] for name in names}


def _id_tuple(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


async def _trimmed_since(store: Store, last: str) -> str | None:
    """When the cap may have trimmed entries after ``last``: the oldest entry still held.

    Trimming removes the oldest entries, so entries after ``last`` can be gone only when
    some were trimmed and the oldest one left is newer than ``last`` (the notice is then
    advisory: it cannot tell whether ``last`` was the very last entry trimmed).
    """
    if last in ("$", "0-0"):
        return None
    try:
        info = await store.client.xinfo_stream(store.keys.events)
    except ResponseError:  # no stream yet
        return None
    first = info.get("first-entry")
    if not first or int(info.get("entries-added") or 0) <= int(info.get("length") or 0):
        return None
    oldest = str(first[0])
    return oldest if _id_tuple(oldest) > _id_tuple(last) else None


async def _close_subscribers(app: web.Application) -> None:
    """On shutdown: end open streams now rather than at their next heartbeat."""
    subscribers = app[SUBSCRIBERS]
    for task in tuple(subscribers):
        task.cancel()


def add_routes(app: web.Application) -> None:
    app[SUBSCRIBERS] = set()
    app.on_shutdown.append(_close_subscribers)
    app.router.add_get("/api/v2/events", stream_events)
