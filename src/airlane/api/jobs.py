"""``/api/v2/jobs``: Airlane's service processes as Airflow's jobs (:mod:`airlane.queue.jobs`).

The coordinators are ``SchedulerJob``s, the triggerers ``TriggererJob``s, the DAG processor a
``DagProcessorJob`` and the workers Airlane's ``WorkerJob``s. A live process's job is
``running``; one whose heartbeat is past its type's threshold (a process that died without
removing its record) is ``failed``, as Airflow's scheduler marks such jobs, and
``is_alive`` false. Airflow's filters: ``job_state``, ``job_type``, ``hostname``,
``executor_class`` (Airlane's jobs have none, as Airflow 3's), ``is_alive``, the
``start_date_*`` and ``end_date_*`` ranges (a running job has no end), ``order_by``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import json_response
from airlane.api.inputs import page, parse_datetime, query_bool
from airlane.api.shapes import iso
from airlane.api.spec.jobs import ORDER_FIELDS
from airlane.queue import jobs
from airlane.queue.jobs import JobRecord

_RANGES = {
    f"{field}_{op}": (field, op)
    for field in ("start_date", "end_date")
    for op in ("gte", "gt", "lte", "lt")
}
#: the exact-match filters: query parameter -> response field
_EQUALS = {
    "job_state": "state",
    "job_type": "job_type",
    "hostname": "hostname",
    "executor_class": "executor_class",
}


def job_response(record: JobRecord, now_s: float) -> dict[str, Any]:
    """Airflow's JobResponse, with Airlane's ``is_alive``."""
    alive = record.is_alive(now_s)
    return {
        "id": record.job_id,
        "dag_id": None,
        "state": "running" if alive else "failed",
        "job_type": record.job_type.value,
        "start_date": iso(record.start_s),
        "end_date": None,
        "latest_heartbeat": iso(record.heartbeat_s),
        "executor_class": None,
        "hostname": record.hostname,
        "unixname": record.unixname,
        "dag_display_name": None,
        "is_alive": alive,
    }


def _in_range(value: str | None, op: str, bound: datetime) -> bool:
    if value is None:  # as SQL compares a NULL: never in a range
        return False
    at = datetime.fromisoformat(value)
    return {"gte": at >= bound, "gt": at > bound, "lte": at <= bound, "lt": at < bound}[op]


def job_filter(request: web.Request) -> Callable[[dict[str, Any]], bool]:
    """The query's filters, read and checked once, as one test of a job's shape."""
    q = request.query
    equals = {field: q[name] for name, field in _EQUALS.items() if name in q}
    alive = query_bool(request, "is_alive")
    ranges = [
        (field, op, parse_datetime(q[name], "query", name))
        for name, (field, op) in _RANGES.items()
        if name in q
    ]

    def keep(job: dict[str, Any]) -> bool:
        return (
            all(job[field] == value for field, value in equals.items())
            and (alive is None or job["is_alive"] is alive)
            and all(_in_range(job[field], op, bound) for field, op, bound in ranges)
        )

    return keep


def _sorted(request: web.Request, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By each ``order_by`` field (repeatable), first field first; nulls last ascending and
    first descending, as PostgreSQL sorts them."""
    for field, descending in reversed(listing.query_order(request, ORDER_FIELDS, ["id"])):
        present = sorted(
            (j for j in found if j[field] is not None), key=lambda j: j[field], reverse=descending
        )
        missing = [j for j in found if j[field] is None]
        found = missing + present if descending else present + missing
    return found


async def list_jobs(request: web.Request) -> web.Response:
    limit, offset = page(request)
    keep = job_filter(request)
    store = request.app[STORE]
    now_s = time.time()
    records = await jobs.all_jobs(store.client, store.keys)
    found = _sorted(
        request, [job for job in (job_response(r, now_s) for r in records) if keep(job)]
    )
    return json_response({"jobs": found[offset : offset + limit], "total_entries": len(found)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/jobs", list_jobs)
