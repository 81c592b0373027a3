"""Health, version and import errors."""

from __future__ import annotations

import time
from importlib import metadata

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import json_response, not_found
from airlane.api.inputs import page, path_int
from airlane.api.shapes import import_error_response, iso
from airlane.queue import api_reads, trigger_monitoring

#: a heartbeat older than this makes its component unhealthy
STALE_AFTER_S = 30.0


async def health(request: web.Request) -> web.Response:
    now = time.time()
    try:
        beats = await api_reads.heartbeats(request.app[STORE], now - STALE_AFTER_S)
        triggerers = await trigger_monitoring.triggerers(request.app[STORE], now)
    except Exception:  # Redis unreachable: say so, with the status code a probe expects
        body = {
            "metadatabase": {"status": "unhealthy"},
            "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": None},
            "triggerer": {"status": None, "latest_triggerer_heartbeat": None},
            "dag_processor": {"status": "unhealthy", "latest_dag_processor_heartbeat": None},
        }
        return json_response(body, status=503)

    def component(beat: str | None) -> tuple[str, str | None]:
        if beat is None:
            return "unhealthy", None
        return ("healthy" if now - float(beat) <= STALE_AFTER_S else "unhealthy"), iso(beat)

    scheduler_status, scheduler_beat = component(beats.coordinator)
    processor_status, processor_beat = component(beats.dag_processor)
    # Airflow's: no status at all until a triggerer has run; then its latest heartbeat's
    latest = max((t.heartbeat_at_s for t in triggerers), default=None)
    triggerer_status, triggerer_beat = (
        component(str(latest)) if latest is not None else (None, None)
    )
    return json_response(
        {
            "metadatabase": {"status": "healthy"},
            "scheduler": {"status": scheduler_status, "latest_scheduler_heartbeat": scheduler_beat},
            "triggerer": {
                "status": triggerer_status,
                "latest_triggerer_heartbeat": triggerer_beat,
            },
            "dag_processor": {
                "status": processor_status,
                "latest_dag_processor_heartbeat": processor_beat,
            },
            "workers": {
                "status": "healthy" if beats.live_workers else "unhealthy",
                "alive": beats.live_workers,
            },
        }
    )


async def version(request: web.Request) -> web.Response:
    try:
        number = metadata.version("airlane")
    except metadata.PackageNotFoundError:
        number = "0.0.0"
    return json_response({"version": number, "git_version": None})


async def _errors(request: web.Request) -> list[dict[str, object]]:
    errors = await request.app[STORE].import_errors()
    now = time.time()
    return [
        import_error_response(index, path, entries, now)
        for index, (path, entries) in enumerate(sorted(errors.items()), start=1)
    ]


async def list_import_errors(request: web.Request) -> web.Response:
    limit, offset = page(request)
    found = listing.listed(
        request,
        await _errors(request),
        searches_of={"filename": "filename"},
        order_fields=(
            "id",
            "import_error_id",
            "timestamp",
            "filename",
            "bundle_name",
            "stacktrace",
        ),
        value=listing.aliased({"id": "import_error_id", "stacktrace": "stack_trace"}),
    )
    for name in ("filename", "bundle_name"):  # (exact)
        if name in request.query:
            found = [entry for entry in found if entry[name] == request.query[name]]
    return json_response(
        {"import_errors": found[offset : offset + limit], "total_entries": len(found)}
    )


async def get_import_error(request: web.Request) -> web.Response:
    wanted = path_int(request, "import_error_id")
    for entry in await _errors(request):
        if entry["import_error_id"] == wanted:
            return json_response(entry)
    raise not_found(f"The ImportError with import_error_id: `{wanted}`")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/monitor/health", health)
    app.router.add_get("/api/v2/version", version)
    app.router.add_get("/api/v2/importErrors", list_import_errors)
    app.router.add_get("/api/v2/importErrors/{import_error_id}", get_import_error)
