"""``/api/v2/workers`` and ``/api/v2/queues``: connected workers, their slots, queue depths.

Airlane's own resources (Airflow's core API has no workers): the web UI's workers view and
any monitoring client read them.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.errors import json_response
from airlane.api.shapes import iso
from airlane.queue import monitoring
from airlane.queue.monitoring import QueueStats, WorkerInfo


def worker_response(worker: WorkerInfo) -> dict[str, Any]:
    """WorkerResponse."""
    return {
        "worker_id": worker.worker_id,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "queues": list(worker.queues),
        "slots": worker.concurrency,
        "slots_busy": len(worker.running),
        "alive": worker.alive,
        "last_heartbeat": iso(worker.heartbeat_at_s),
        "running": [
            {
                "dag_id": r.dag_id,
                "dag_run_id": r.run_id,
                "task_id": r.task_id,
                "map_index": r.map_index,
                "try_number": r.try_number,
            }
            for r in worker.running
        ],
    }


def queue_response(stats: QueueStats) -> dict[str, Any]:
    """QueueResponse."""
    return {
        "name": stats.name,
        "depth": stats.depth,
        "pending": stats.pending,
        "waiting": stats.waiting,
        "oldest_message_age": stats.oldest_age_s,
    }


async def list_workers(request: web.Request) -> web.Response:
    found = await monitoring.workers(request.app[STORE], time.time())
    items = [worker_response(w) for w in found]
    return json_response({"workers": items, "total_entries": len(items)})


async def list_queues(request: web.Request) -> web.Response:
    store = request.app[STORE]
    now = time.time()
    names = sorted(monitoring.queue_names(await monitoring.workers(store, now)))
    items = [queue_response(await monitoring.queue_stats(store, name, now)) for name in names]
    return json_response({"queues": items, "total_entries": len(items)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/workers", list_workers)
    app.router.add_get("/api/v2/queues", list_queues)
