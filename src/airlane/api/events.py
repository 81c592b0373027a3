"""``GET /api/v2/events``: run events as Server-Sent Events, resumable with Last-Event-ID.

Each SSE event's ``id`` is its entry ID in the events stream, so a client that reconnects
with ``Last-Event-ID`` (or ``?last_event_id=``) reads on from exactly there: every event it
missed, once, in order (as long as the capped stream still holds it). Without one it gets
only new events, except that a subscriber to one run (``dag_id`` and ``run_id``) gets that
run's events from its creation on. ``task_id`` narrows a run's events to one task; with
``logs=true`` its log lines follow too, from the first line of a try running already.
``kind`` (repeatable) keeps only events of those kinds (``run``, ``ti``, ``dag``...).
Comments (``: keepalive``) keep idle connections open through proxies.

Live events come from the process's one reader (:mod:`airlane.api.event_hub`); what a client
missed (its backlog) is read from a small pool of its own, so the event stream never takes a
connection the other routes need. Everything that can refuse a request (a bad id, the
per-user and per-process limits, Redis unavailable) answers before the stream starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api.appkeys import EVENTS_REDIS_URL, EVENTS_SETTINGS
from airlane.api.errors import invalid, json_response
from airlane.api.event_format import (
    CONNECTED,
    KEEPALIVE,
    TOO_SLOW,
    UNAVAILABLE,
    EventFilter,
    connected_at,
    event_payload,
    id_tuple,
    log_frame,
    next_id,
    parse_stream_id,
    sse,
    wanted,
)
from airlane.api.event_hub import (
    READ_COUNT,
    Admission,
    Backfill,
    EventHub,
    EventStreamSettings,
    Subscription,
)
from airlane.api.inputs import query_bool
from airlane.queue import api_reads
from airlane.queue.connection import TRANSIENT_ERRORS, cancel_until_done, connect
from airlane.queue.keys import Keys
from airlane.queue.store import Store

__all__ = ["add_routes", "event_payload", "sse", "wanted"]

HEARTBEAT_S = 15.0
#: a client that takes longer than this to accept one write is dropped (it resumes later)
WRITE_TIMEOUT_S = 30.0
#: how long a new stream waits for the reader's first position before giving up with 503
READY_TIMEOUT_S = 5.0
RETRY_AFTER_S = 5
#: how far before a run's queued_at its events are looked for (clocks of API and Redis hosts)
CLOCK_MARGIN_MS = 5000

#: how often streams whose client went away are looked for (aiohttp tells a handler only
#: when it next writes, up to a heartbeat later, and the stream holds a slot until then)
GONE_CHECK_S = 1.0

#: each open stream's handler task and its request
SUBSCRIBERS = web.AppKey("sse_subscribers", dict[asyncio.Task[Any], web.Request])
HUB = web.AppKey("event_hub", EventHub)
#: the Store over the event stream's own small pool (backlogs, starting positions)
BACKLOG = web.AppKey("event_backlog_store", Store)
ADMISSION = web.AppKey("event_admission", Admission)


@dataclass(frozen=True, slots=True)
class StreamRequest:
    wants: EventFilter
    #: the client's resume point, None for "from now" (or a followed run's creation)
    last: str | None


def parse_request(request: web.Request) -> StreamRequest:
    """The filters and resume point, validated (422 naming the bad field)."""
    dag_id = request.query.get("dag_id") or None
    run_id = request.query.get("run_id") or None
    task_id = request.query.get("task_id") or None
    if task_id and not (dag_id and run_id):
        raise invalid("query", "task_id", "task_id needs dag_id and run_id", task_id)
    wants = EventFilter(
        dag_id,
        run_id,
        task_id,
        frozenset(request.query.getall("kind", [])),
        bool(query_bool(request, "logs")),
    )
    where, name = "header", "Last-Event-ID"
    last = request.headers.get(name)
    if not last:
        where, name = "query", "last_event_id"
        last = request.query.get(name)
    if not last:
        return StreamRequest(wants, None)
    if parse_stream_id(last) is None:
        message = "Expected a stream ID like 1700000000000-0 (two integers below 2**64)"
        raise invalid(where, name, message, last)
    return StreamRequest(wants, last)


def unavailable(reason: str) -> web.Response:
    response = json_response({"detail": reason}, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def stream_events(request: web.Request) -> web.StreamResponse:
    asked = parse_request(request)
    admission = request.app[ADMISSION]
    user = str(request.get("user", ""))
    refusal = admission.admit(user)
    if refusal is not None:
        return unavailable(refusal)
    try:
        return await _admitted(request, asked)
    finally:
        admission.release(user)


@dataclass(frozen=True, slots=True)
class _Opening:
    """What a stream reads before it starts (so that Redis being down is a 503, not a stream
    that ends at once)."""

    #: where its backlog starts (exclusive), None for live only
    start: str | None
    #: the gap notice owed to a client whose events the cap may have trimmed
    gap: dict[str, Any] | None
    #: the running tries whose logs it tails from their first line
    running: list[dict[str, Any]]


async def _admitted(request: web.Request, asked: StreamRequest) -> web.StreamResponse:
    hub, store = request.app[HUB], request.app[BACKLOG]
    if not await hub.wait_ready(READY_TIMEOUT_S):
        return unavailable("The event stream is not available yet")
    try:
        opening = await _open(store, asked)
    except TRANSIENT_ERRORS:
        return unavailable("Redis is unavailable")
    settings = request.app[EVENTS_SETTINGS]
    sub, newest = hub.subscribe(asked.wants, opening.start or "0-0", settings.queue_frames)
    with _registered(request, hub, sub):
        response = _sse_response()
        try:
            await _stream(request, response, sub, opening, newest)
        except (ConnectionError, TimeoutError):
            pass  # the client went away or stopped reading: it resumes with Last-Event-ID
    return response


async def _open(store: Store, asked: StreamRequest) -> _Opening:
    start = await _start_position(store, asked)
    oldest = await _trimmed_since(store, asked.last)
    # The capped stream no longer holds everything after the client's last event.
    gap = None if oldest is None else {"kind": "gap", "since": asked.last, "oldest": oldest}
    return _Opening(start, gap, await _running_tries(store, asked.wants))


@contextlib.contextmanager
def _registered(request: web.Request, hub: EventHub, sub: Subscription) -> Iterator[None]:
    """The stream listed among the open ones (ended when its client goes, or on shutdown)
    while it runs; its subscription dropped when it ends."""
    subscribers = request.app[SUBSCRIBERS]
    me = asyncio.current_task()
    assert me is not None
    subscribers[me] = request
    try:
        yield
    finally:
        subscribers.pop(me, None)
        hub.unsubscribe(sub)


async def _stream(
    request: web.Request,
    response: web.StreamResponse,
    sub: Subscription,
    opening: _Opening,
    newest: str,
) -> None:
    """The stream itself: its opening frames, the backlog, then live events until it ends."""
    hub, store = request.app[HUB], request.app[BACKLOG]
    for data in opening.running:
        hub.tail(sub, data)
    await response.prepare(request)
    # Live only: the position the stream starts at goes out first, so that a client whose
    # stream ends before its first event still resumes from its connection on.
    await _send(response, [CONNECTED if opening.start is not None else connected_at(newest)])
    if opening.gap is not None:
        await _send(response, [sse(None, "gap", opening.gap)])
    if opening.start is not None:
        await _send_backlog(response, store, hub, sub, opening.start, newest)
    await _send_live(response, store, sub)


def _sse_response() -> web.StreamResponse:
    return web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )


async def _send(response: web.StreamResponse, frames: list[bytes]) -> None:
    if not frames:
        return
    async with asyncio.timeout(WRITE_TIMEOUT_S):
        await response.write(b"".join(frames))


async def _start_position(store: Store, asked: StreamRequest) -> str | None:
    """Where the backlog starts (exclusive), or None for only what arrives from now on."""
    if asked.last is not None:
        return asked.last
    wants = asked.wants
    if wants.dag_id and wants.run_id:
        # Following one run: its events from its creation on, then live.
        run = await store.run(wants.dag_id, wants.run_id)
        if run and run.get("queued_at"):
            since_ms = int(float(run["queued_at"]) * 1000) - CLOCK_MARGIN_MS
            return f"{max(0, since_ms)}-0"
    return None


async def _running_tries(store: Store, wants: EventFilter) -> list[dict[str, Any]]:
    """Following one task's logs: its running try, tailed from its first line at once."""
    if not (wants.logs and wants.dag_id and wants.run_id and wants.task_id):
        return []
    tries = []
    for (task_id, map_index), (record, _) in (
        await store.task_instances(wants.dag_id, wants.run_id)
    ).items():
        if task_id == wants.task_id and record.state.value == "running":
            tries.append(
                {
                    "dag_id": wants.dag_id,
                    "run_id": wants.run_id,
                    "task_id": task_id,
                    "map_index": map_index,
                    "try_number": record.try_number,
                }
            )
    return tries


async def _send_backlog(
    response: web.StreamResponse,
    store: Store,
    hub: EventHub,
    sub: Subscription,
    start: str,
    newest: str,
) -> None:
    """The entries after ``start`` up to ``newest`` (the live ones come after), page by page."""
    position = start
    while id_tuple(position) < id_tuple(newest):
        after = next_id(position)
        assert after is not None  # position is below newest
        try:
            page = await api_reads.stream_page(store, store.keys.events, after, newest, READ_COUNT)
        except TRANSIENT_ERRORS:
            await _send(response, [UNAVAILABLE])
            raise ConnectionError("backlog unavailable") from None
        if not page:
            return
        frames = []
        for entry_id, fields in page:
            position = str(entry_id)
            try:
                data = event_payload(position, fields)
            except ValueError:
                continue
            if sub.wants.wants(data):
                frames.append(sse(position, data["kind"], data))
                if sub.wants.tails(data):
                    hub.tail(sub, data)
        if frames:
            await _send(response, frames)


async def _send_live(response: web.StreamResponse, store: Store, sub: Subscription) -> None:
    while True:
        items = await sub.take(HEARTBEAT_S)
        if sub.dropped:
            await _send(response, [TOO_SLOW])
            return
        if not items:
            await _send(response, [KEEPALIVE])
            continue
        frames: list[bytes] = []
        for item in items:
            if isinstance(item, Backfill):
                await _send(response, frames)
                frames = []
                await _send_log_backfill(response, store, item)
            else:
                frames.append(item)
        await _send(response, frames)


async def _send_log_backfill(response: web.StreamResponse, store: Store, item: Backfill) -> None:
    """The lines a log stream already had when this client started following it."""
    position = "-"
    while True:
        try:
            page = await api_reads.stream_page(store, item.stream, position, item.upto, READ_COUNT)
        except TRANSIENT_ERRORS:
            await _send(response, [UNAVAILABLE])
            raise ConnectionError("log backlog unavailable") from None
        await _send(response, [log_frame(item.stream, item.about, f) for _, f in page])
        after = next_id(page[-1][0]) if len(page) == READ_COUNT else None
        if after is None or str(page[-1][0]) == item.upto:
            return
        position = after


async def _trimmed_since(store: Store, last: str | None) -> str | None:
    """When the cap may have trimmed entries after ``last``: the oldest entry still held.

    Trimming removes the oldest entries, so entries after ``last`` can be gone only when
    some were trimmed and the oldest one left is newer than ``last`` (the notice is then
    advisory: it cannot tell whether ``last`` was the very last entry trimmed).
    """
    if last is None or last == "0-0":
        return None
    info = await api_reads.stream_info(store, store.keys.events)
    if info is None:  # no stream yet
        return None
    first = info.get("first-entry")
    if not first or int(info.get("entries-added") or 0) <= int(info.get("length") or 0):
        return None
    oldest = str(first[0])
    return oldest if id_tuple(oldest) > id_tuple(last) else None


async def _hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """The reader, its two connections and the backlog pool, for the app's lifetime."""
    settings, url, keys = app[EVENTS_SETTINGS], app[EVENTS_REDIS_URL], Keys.from_env()
    reader = connect(url, client_name="airlane-api-events", max_connections=1)
    logs = connect(url, client_name="airlane-api-events", max_connections=1)
    backlog = connect(
        url, client_name="airlane-api-events", max_connections=settings.backlog_connections
    )
    app[HUB] = hub = EventHub(reader, logs, keys)
    app[BACKLOG] = Store(backlog, keys)
    app[ADMISSION] = Admission(settings.max_per_user, settings.max_clients)
    tasks = [
        asyncio.create_task(hub.run(), name="event-hub"),
        asyncio.create_task(_end_abandoned(app[SUBSCRIBERS]), name="event-streams-gone"),
    ]
    yield
    await cancel_until_done(tasks)  # the readers' XREADs can lose a single cancellation
    for client in (reader, logs, backlog):
        await client.aclose()


async def _end_abandoned(subscribers: dict[asyncio.Task[Any], web.Request]) -> None:
    """End the streams whose client has gone, so that their slots and queues are freed."""
    while True:
        await asyncio.sleep(GONE_CHECK_S)
        for task, request in tuple(subscribers.items()):
            transport = request.transport
            if transport is None or transport.is_closing():
                task.cancel()


async def _close_subscribers(app: web.Application) -> None:
    """On shutdown: end open streams now rather than at their next heartbeat."""
    subscribers = app[SUBSCRIBERS]
    for task in tuple(subscribers):
        task.cancel()


def add_routes(app: web.Application) -> None:
    app[SUBSCRIBERS] = {}
    app.setdefault(EVENTS_SETTINGS, EventStreamSettings())
    app.cleanup_ctx.append(_hub_ctx)
    app.on_shutdown.append(_close_subscribers)
    app.router.add_get("/api/v2/events", stream_events)
