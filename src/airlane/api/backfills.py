"""``/api/v2/backfills``: create (or dry-run), list, read, pause, unpause and cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, invalid, json_response, not_found
from airlane.api.inputs import (
    as_int,
    json_body,
    opt_bool,
    opt_choice,
    opt_dict,
    page,
    parse_datetime,
    path_int,
)
from airlane.queue.protocol import BackfillChanged
from airlane.scheduling.backfill import (
    Backfill,
    BackfillError,
    BackfillNotAllowed,
    Reprocess,
    create_backfill,
    load,
    load_all,
    save,
)

_FIELDS = {
    "dag_id",
    "from_date",
    "to_date",
    "run_backwards",
    "dag_run_conf",
    "reprocess_behavior",
    "max_active_runs",
    "run_on_latest_version",
}


def backfill_response(backfill: Backfill, display: str | None = None) -> dict[str, Any]:
    return {
        "id": backfill.id,
        "dag_id": backfill.dag_id,
        "dag_display_name": display or backfill.dag_id,
        "from_date": backfill.from_date,
        "to_date": backfill.to_date,
        "dag_run_conf": backfill.dag_run_conf,
        "is_paused": backfill.is_paused,
        "reprocess_behavior": backfill.reprocess_behavior,
        "max_active_runs": backfill.max_active_runs,
        "created_at": backfill.created_at,
        "completed_at": backfill.completed_at,
        "updated_at": backfill.updated_at,
    }


async def _plan(request: web.Request, dry_run: bool) -> tuple[Backfill | None, list[datetime]]:
    store = request.app[STORE]
    body = await json_body(request, _FIELDS)
    dag_id = body.get("dag_id")
    if not isinstance(dag_id, str):  # "" is a string: no such DAG, a 404 below
        raise invalid("body", "dag_id", "Field required", dag_id)
    for name in ("from_date", "to_date"):
        if name not in body:
            raise invalid("body", name, "Field required")
    start = parse_datetime(body["from_date"], "body", "from_date")
    end = parse_datetime(body["to_date"], "body", "to_date")
    reprocess = opt_choice(
        body,
        "reprocess_behavior",
        {r.value for r in Reprocess},
        "Input should be 'none', 'failed' or 'completed'",
    )
    max_runs = as_int(body.get("max_active_runs", 10))
    if max_runs is None:
        message = "Input should be a valid integer"
        raise invalid("body", "max_active_runs", message, body.get("max_active_runs"))
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Could not find Dag with id {dag_id}")
    try:
        return await create_backfill(
            store,
            dag,
            start,
            end,
            reprocess=Reprocess(reprocess or "none"),
            max_active_runs=max_runs,
            run_backwards=opt_bool(body, "run_backwards", False),
            conf=opt_dict(body, "dag_run_conf"),
            dry_run=dry_run,
            run_on_latest_version=opt_bool(body, "run_on_latest_version", False),
        )
    except BackfillNotAllowed as err:
        raise ApiError(400, str(err)) from None  # Airflow's status and message
    except BackfillError as err:
        raise invalid("body", err.field, str(err)) from None


async def create(request: web.Request) -> web.Response:
    backfill, _ = await _plan(request, dry_run=False)
    assert backfill is not None
    return json_response(backfill_response(backfill))


async def dry_run(request: web.Request) -> web.Response:
    _, dates = await _plan(request, dry_run=True)
    items = [
        {"logical_date": d.isoformat(), "partition_date": None, "partition_key": None}
        for d in dates
    ]
    return json_response({"backfills": items, "total_entries": len(items)})


async def list_backfills(request: web.Request) -> web.Response:
    limit, offset = page(request)
    dag_id = request.query.get("dag_id")
    found = [
        backfill_response(b)
        for b in await load_all(request.app[STORE])
        if dag_id is None or b.dag_id == dag_id
    ]
    found = listing.listed(request, found, order_fields=("id",))
    return json_response({"backfills": found[offset : offset + limit], "total_entries": len(found)})


async def _one(request: web.Request) -> Backfill:
    backfill_id = path_int(request, "backfill_id")
    backfill = await load(request.app[STORE], backfill_id)
    if backfill is None:
        raise not_found(f"Could not find backfill with id {backfill_id}")
    return backfill


async def get_backfill(request: web.Request) -> web.Response:
    return json_response(backfill_response(await _one(request)))


async def _change(request: web.Request, **changes: Any) -> web.Response:
    store = request.app[STORE]
    backfill = await _one(request)
    if backfill.completed_at is not None:
        raise ApiError(409, "Backfill is already completed.")
    for name, value in changes.items():
        setattr(backfill, name, value)
    backfill.updated_at = datetime.now(UTC).isoformat()
    if changes.get("completed_at"):
        backfill.pending = []  # cancelled: no more runs are made
    await save(store, backfill)
    await store.command(BackfillChanged(backfill.id))
    return json_response(backfill_response(backfill))


async def pause(request: web.Request) -> web.Response:
    return await _change(request, is_paused=True)


async def unpause(request: web.Request) -> web.Response:
    return await _change(request, is_paused=False)


async def cancel(request: web.Request) -> web.Response:
    return await _change(request, is_paused=True, completed_at=datetime.now(UTC).isoformat())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v2/backfills", create)
    app.router.add_get("/api/v2/backfills", list_backfills)
    app.router.add_post("/api/v2/backfills/dry_run", dry_run)
    # Not "dry_run": that path is POST only, and must not advertise this route's GET in Allow.
    app.router.add_get("/api/v2/backfills/{backfill_id:(?!dry_run$)[^/]+}", get_backfill)
    app.router.add_put("/api/v2/backfills/{backfill_id}/pause", pause)
    app.router.add_put("/api/v2/backfills/{backfill_id}/unpause", unpause)
    app.router.add_put("/api/v2/backfills/{backfill_id}/cancel", cancel)
    # airflowctl (0.1.5) sends these three as POST: answered the same
    for action, handler in (("pause", pause), ("unpause", unpause), ("cancel", cancel)):
        app.router.add_post("/api/v2/backfills/{backfill_id}/" + action, handler)
