"""Airflow's event log (audit log): every change made through the API, who made it and with
what, readable at ``/api/v2/eventLogs``.

As Airflow's ``action_logging``: a request that changes something (POST, PUT, PATCH,
DELETE of a documented operation) is recorded once it is authenticated, whether the change
then succeeds or not, under its operation id as the event (``trigger_dag_run``,
``post_clear_task_instances``...), with the user as owner, the DAG, task and run it names,
and as ``extra`` its query, path and body fields (secrets redacted by name, a variable's
value and a connection's password and extra values always; ``method`` added). Dry runs of
clears are not recorded, as in Airflow. The entries live in one capped Redis stream
(``event_logs``): the newest ~20,000 are kept (``Store.append_event_log``); an entry's id is
its stream id as a number (milliseconds * 1000 + sequence). The coordinator adds Airflow's
scheduler entry for a DAG it pauses after too many failed runs (``paused``). Task instances'
starts (``running``, with the host) and the states their tries end in come from the live
``events`` stream the coordinator already writes (no write of their own on the hot path), as
Airflow's execution API logs them; they stay as long as that stream keeps them (~100,000
events). Their ids end in 1, the actions' in 0.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, Handler, invalid, json_response
from airlane.api.inputs import page, query_int
from airlane.api.openapi import PATHS
from airlane.api.shapes import iso
from airlane.api.spec.event_logs import ORDER_FIELDS, SEARCHED
from airlane.api.validation import route_template
from airlane.queue.events_protocol import EventKind, TIEvent
from airlane.sdk.secrets_masker import redact

#: an entry's ``extra`` longer than this is cut (a trigger's conf may be a megabyte)
EXTRA_MAX_CHARS = 4096
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: not changes (reads by POST, dry runs, a connection test) or not actions on Airflow's
#: objects (signing in and out), which Airflow's action_logging does not record either
_NOT_LOGGED = frozenset(
    {
        "create_token",
        "create_token_cli",
        "logout",
        "get_list_dag_runs_batch",
        "get_task_instances_batch",
        "test_connection",
    }
)
_DRY_RUN_DEFAULT = frozenset({"clear_dag_run", "post_clear_task_instances"})
_SKIPPED_FIELDS = frozenset(
    {"csrf_token", "_csrf_token", "is_paused", "dag_id", "task_id", "dag_run_id", "run_id"}
    | {"logical_date"}
)
SEARCHES = {name: name for name in SEARCHED}


@functools.cache
def _operations() -> dict[tuple[str, str], str]:
    """(METHOD, path template) -> operation id, for the operations that change things."""
    return {
        (method.upper(), template): str(operation["operationId"])
        for template, operations in PATHS.items()
        for method, operation in operations.items()
        if method.upper() in _CHANGES
    }


def _masked_entity(event: str, entity: dict[str, Any]) -> dict[str, Any]:
    if "variable" in event:
        return {k: "***" if k in ("val", "value") else v for k, v in entity.items()}
    if "connection" in event:
        masked = {}
        for key, value in entity.items():
            if key == "extra" and value:
                try:
                    parsed = orjson.loads(value) if isinstance(value, str) else None
                except orjson.JSONDecodeError:
                    parsed = None
                masked[key] = (
                    dict.fromkeys(parsed, "***")
                    if isinstance(parsed, dict)
                    else "Encountered non-JSON in `extra` field"
                )
            else:
                masked[key] = redact(value, key)
        return masked
    return {k: redact(v, k) for k, v in entity.items()}


def masked_body(event: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body as the log keeps it (a bulk body's entities each masked)."""
    actions = body.get("actions")
    if isinstance(actions, list) and ("variable" in event or "connection" in event):
        return {
            **body,
            "actions": [
                {
                    **action,
                    "entities": [
                        _masked_entity(event, e) if isinstance(e, dict) else e
                        for e in action["entities"]
                    ],
                }
                if isinstance(action, dict) and isinstance(action.get("entities"), list)
                else action
                for action in actions
            ],
        }
    return _masked_entity(event, body)


def entry_of(
    event: str,
    owner: str,
    method: str,
    query: dict[str, str],
    path: dict[str, str],
    body: dict[str, Any] | None,
) -> dict[str, Any]:
    """The log entry of one request (pure: the middleware adds the time and the id)."""
    params: dict[str, Any] = {**query, **path, **(body or {})}
    extra = {k: redact(v, k) for k, v in [*query.items(), *path.items()]}
    extra = {k: v for k, v in extra.items() if k not in _SKIPPED_FIELDS}
    if body is not None:
        # (Airflow: a variable's or connection's body alone; else the body beside the query)
        secret = "variable" in event or "connection" in event
        extra = masked_body(event, body) if secret else extra | masked_body(event, body)
    if "is_paused" in params:
        extra["is_paused"] = params["is_paused"]
    extra["method"] = method
    return {
        "event": event,
        "owner": owner,
        "dag_id": _text(params.get("dag_id")),
        "task_id": _text(params.get("task_id")),
        "run_id": _text(params.get("run_id") or params.get("dag_run_id")),
        "logical_date": query.get("logical_date"),
        "extra": _cut(orjson.dumps(extra, default=str).decode()),
    }


def _cut(text: str) -> str:
    if len(text) <= EXTRA_MAX_CHARS:
        return text
    return text[:EXTRA_MAX_CHARS] + "... (cut)"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "~" else None


def event_log_middleware() -> Middleware:
    """Records each change request (after auth, before the body is checked: a refused
    change is in the log too, as in Airflow)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in _CHANGES:
            event = _operations().get((request.method, route_template(request)))
            if event is not None and event not in _NOT_LOGGED and "dry_run" not in event:
                await _record(request, event)
        return await handler(request)

    return middleware


async def _record(request: web.Request, event: str) -> None:
    raw = await request.read()  # (kept by aiohttp for the handler)
    body: dict[str, Any] | None = None
    if raw.strip():
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
    if event in _DRY_RUN_DEFAULT and (body or {}).get("dry_run", True):
        return
    owner = str(request.get("user") or "anonymous")
    entry = entry_of(
        event, owner, request.method, dict(request.query), dict(request.match_info), body
    )
    await request.app[STORE].append_event_log(entry)


#: the task instance states Airflow's execution API logs: a try starting (running) and the
#: state a try leaves its instance in
TI_LOGGED = frozenset(
    {"running", "success", "failed", "skipped", "up_for_retry", "up_for_reschedule", "deferred"}
)
_ACTIONS, _TASKS = 0, 1  # an entry id's last bit: which stream it comes from


_SEQ_BITS = 20  # (a stream's entries in one millisecond: the coordinator writes thousands)


def _entry_id(stream_id: str, source: int) -> int:
    """A stream id as a number: (milliseconds << 20 | sequence) * 2 + its source (< 2**63)."""
    ms, seq = stream_id.split("-")
    return ((int(ms) << _SEQ_BITS) | int(seq)) * 2 + source


def _stream_id(entry_id: int) -> tuple[str, int]:
    number, source = divmod(entry_id, 2)
    return f"{number >> _SEQ_BITS}-{number & ((1 << _SEQ_BITS) - 1)}", source


def _when(stream_id: str) -> str:
    return datetime.fromtimestamp(int(stream_id.split("-")[0]) / 1000, UTC).isoformat()


def _display(dags: dict[str, Any], dag_id: str | None) -> str | None:
    dag = dags.get(dag_id or "")
    return None if dag is None else dag.get("dag_display_name") or dag_id


def _shape(stream_id: str, fields: dict[str, str], dags: dict[str, Any]) -> dict[str, Any]:
    entry = orjson.loads(fields["e"])
    return {
        "event_log_id": _entry_id(stream_id, _ACTIONS),
        "when": _when(stream_id),
        "dag_id": entry.get("dag_id"),
        "task_id": entry.get("task_id"),
        "run_id": entry.get("run_id"),
        "map_index": None,
        "try_number": None,
        "event": entry["event"],
        "logical_date": entry.get("logical_date"),
        "owner": entry.get("owner"),
        "extra": entry.get("extra"),
        "dag_display_name": _display(dags, entry.get("dag_id")),
        "task_display_name": None,
    }


def _task_event(stream_id: str, fields: dict[str, str]) -> TIEvent | None:
    """The task instance event an ``events`` entry holds, if the log shows it."""
    if fields.get("kind") != EventKind.TI.value or fields.get("state") not in TI_LOGGED:
        return None
    try:
        return TIEvent.from_fields(fields)
    except ValueError:
        return None


def _task_shape(
    stream_id: str,
    event: TIEvent,
    dags: dict[str, Any],
    tasks: dict[str, dict[str, dict[str, Any]]],
    logical: dict[tuple[str, str], Any],
) -> dict[str, Any]:
    """A task instance's state change as Airflow's execution API logs it (owner: the task's
    owner; extra: the host it ran on, when it started)."""
    task = tasks.get(event.dag_id, {}).get(event.task_id, {})
    extra = orjson.dumps({"host_name": event.worker}).decode() if event.worker else None
    return {
        "event_log_id": _entry_id(stream_id, _TASKS),
        "when": _when(stream_id),
        "dag_id": event.dag_id,
        "task_id": event.task_id,
        "run_id": event.run_id,
        "map_index": event.map_index,
        "try_number": event.try_number,
        "event": event.state.value,
        "logical_date": logical.get((event.dag_id, event.run_id)),
        "owner": task.get("owner"),
        "extra": extra,
        "dag_display_name": _display(dags, event.dag_id),
        "task_display_name": (task.get("task_display_name") or event.task_id) if task else None,
    }


async def _dags(request: web.Request, dag_ids: set[str]) -> dict[str, Any]:
    store = request.app[STORE]
    return {dag_id: await store.dag(dag_id) for dag_id in dag_ids}


async def _logical_dates(
    request: web.Request, runs: set[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    ordered = sorted(runs)
    dates = await request.app[STORE].runs_field(ordered, "logical_date")
    return {run: iso(date or None) for run, date in zip(ordered, dates, strict=True)}


def _may_keep(request: web.Request, event: TIEvent) -> bool:
    """The query's exact filters on a task instance event, before it is shaped."""
    query = request.query
    state = event.state.value
    included = query.getall("included_events", [])
    return (
        query.get("dag_id", event.dag_id) == event.dag_id
        and query.get("run_id", event.run_id) == event.run_id
        and query.get("task_id", event.task_id) == event.task_id
        and query.get("event", state) == state
        and (not included or state in included)
        and state not in query.getall("excluded_events", [])
    )


async def _shapes(
    request: web.Request,
    actions: list[tuple[str, dict[str, str]]],
    tasks: list[tuple[str, dict[str, str]]],
) -> list[dict[str, Any]]:
    """The entries of both streams as Airflow's EventLogResponse, oldest first (task instance
    events the query's exact filters leave out are not shaped)."""
    events = [
        (sid, e)
        for sid, f in tasks
        if (e := _task_event(sid, f)) is not None and _may_keep(request, e)
    ]
    dag_ids = {orjson.loads(f["e"]).get("dag_id") or "" for _, f in actions}
    dag_ids |= {e.dag_id for _, e in events}
    dags = await _dags(request, dag_ids - {""})
    logical = await _logical_dates(request, {(e.dag_id, e.run_id) for _, e in events})
    shapes = [_shape(sid, f, dags) for sid, f in actions]
    by_task = {
        dag_id: {t["task_id"]: t for t in dag.get("tasks", [])}
        for dag_id, dag in dags.items()
        if dag is not None
    }
    shapes += [_task_shape(sid, e, dags, by_task, logical) for sid, e in events]
    return sorted(shapes, key=lambda shape: int(shape["event_log_id"]))


async def get_event_log(request: web.Request) -> web.Response:
    raw = request.match_info["event_log_id"]
    try:
        entry_id = int(raw)
    except ValueError:
        raise invalid("path", "event_log_id", "Input should be a valid integer", raw) from None
    store = request.app[STORE]
    found: list[dict[str, Any]] = []
    if 0 <= entry_id < 2**63:  # (a stream id's milliseconds fit 64 bits)
        sid, source = _stream_id(entry_id)
        if source == _ACTIONS:
            found = await _shapes(request, await store.event_log_entries(sid, sid), [])
        else:
            found = await _shapes(request, [], await store.events_entries(sid, sid))
    if not found:
        raise ApiError(404, f"The Event Log with id: `{entry_id}` not found")
    return json_response(found[0])


_EXACT = ("dag_id", "task_id", "run_id", "owner", "event")


async def list_event_logs(request: web.Request) -> web.Response:
    """GET /eventLogs with Airflow 3.3's filters: exact dag_id/task_id/run_id/owner/event,
    map_index/try_number, included_events/excluded_events, before/after, the searches,
    order_by (default: oldest first, by id)."""
    limit, offset = page(request)
    _check_query(request)  # (before any entry: a bad value is a 422 with the log empty too)
    store = request.app[STORE]
    shapes = await _shapes(request, await store.event_log_entries(), await store.events_entries())
    shapes = [s for s in shapes if _keeps(request, s)]
    shapes = listing.listed(
        request,
        shapes,
        searches_of=SEARCHES,
        order_fields=ORDER_FIELDS,
        value=listing.aliased({"id": "event_log_id", "dttm": "when"}),
    )
    return json_response(
        {"event_logs": shapes[offset : offset + limit], "total_entries": len(shapes)}
    )


def _check_query(request: web.Request) -> None:
    for name in ("map_index", "try_number"):
        query_int(request, name, 0, None, None)
    for name in ("before", "after"):
        _moment(request, name)
    listing.query_order(request, ORDER_FIELDS)


def _keeps(request: web.Request, shape: dict[str, Any]) -> bool:
    query = request.query
    for name in _EXACT:
        if name in query and shape[name] != query[name]:
            return False
    for name in ("map_index", "try_number"):
        if name in query and shape[name] != query_int(request, name, 0, None, None):
            return False
    included = query.getall("included_events", [])
    excluded = query.getall("excluded_events", [])
    if (included and shape["event"] not in included) or shape["event"] in excluded:
        return False
    when = listing.as_datetime(shape["when"])
    before, after = _moment(request, "before"), _moment(request, "after")
    return (before is None or when < before) and (after is None or when > after)


def _moment(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        moment = listing.as_datetime(raw)
    except ValueError:
        raise invalid("query", name, "Input should be a valid datetime", raw) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/eventLogs", list_event_logs)
    app.router.add_get("/api/v2/eventLogs/{event_log_id}", get_event_log)
