"""A run's deadlines and a DAG's deadline alerts, in Airflow 3.3's shapes.

A run's deadlines are the ones its hash holds (``deadline:<alert index>``, written when the
coordinator first saw the run): one still in the ``deadlines`` set is pending (``missed``
false), one no longer there was reported missed; a deadline the run met was removed with
its success, as Airflow deletes its row.
"""

from __future__ import annotations

import time
from typing import Any, cast

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.errors import json_response, not_found
from airlane.api.instance_lookup import path_ids
from airlane.api.shapes import iso
from airlane.engine.deadlines import entry, run_deadlines
from airlane.service.execution.deadline_callback import alert_id, deadline_id


async def get_deadlines(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    run = await store.run(dag_id, run_id)
    if run is None:
        raise not_found(f"DagRun with dag_id: `{dag_id}` and run_id: `{run_id}`")
    dag = await store.snapshot(run["dag_hash"]) if run.get("dag_hash") else None
    alerts = (dag or await store.dag(dag_id) or {}).get("deadline") or []
    dues = sorted(run_deadlines(run).items(), key=lambda item: (item[1], item[0]))
    async with store.client.pipeline(transaction=False) as pipe:
        for index, _ in dues:
            pipe.zscore(store.keys.deadlines, entry(dag_id, run_id, index))
        pending = cast(list[float | None], await pipe.execute()) if dues else []
    deadlines = [
        _deadline(dag_id, run_id, run, index, due_s, alerts, waiting is None)
        for (index, due_s), waiting in zip(dues, pending, strict=True)
    ]
    return json_response({"deadlines": deadlines, "total_entries": len(deadlines)})


def _deadline(
    dag_id: str,
    run_id: str,
    run: dict[str, str],
    index: int,
    due_s: float,
    alerts: list[dict[str, Any]],
    missed: bool,
) -> dict[str, Any]:
    alert = alerts[index] if index < len(alerts) else {}
    return {
        "id": deadline_id(dag_id, run_id, index),
        "deadline_time": iso(due_s),
        "missed": missed,
        "created_at": iso(run.get("queued_at")),
        "dag_id": dag_id,
        "dag_run_id": run_id,
        "alert_id": alert_id(dag_id, index),
        "alert_name": alert.get("name"),
    }


async def get_deadline_alerts(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Dag with id {dag_id}")
    alerts = [
        {
            "id": alert_id(dag_id, index),
            "name": alert.get("name"),
            "reference_type": (alert.get("reference") or {}).get("reference_type", ""),
            "interval": alert.get("interval_s"),
            "created_at": iso(dag.get("parsed_at")) or iso(time.time()),
        }
        for index, alert in enumerate(dag.get("deadline") or [])
    ]
    return json_response({"deadline_alerts": alerts, "total_entries": len(alerts)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/deadlines", get_deadlines)
    app.router.add_get("/api/v2/dags/{dag_id}/deadlineAlerts", get_deadline_alerts)
