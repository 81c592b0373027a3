"""Airlane's own resources: workers and task queues (handlers: :mod:`airlane.api.workers`)."""

from __future__ import annotations

from airlane.api.spec.notation import Paths, Schema, collection, model, op

SCHEMAS: dict[str, Schema] = {
    "RunningTry": model(
        {
            "dag_id": "str",
            "dag_run_id": "str",
            "task_id": "str",
            "map_index": "int",
            "try_number": "int",
        }
    ),
    "WorkerResponse": model(
        {
            "worker_id": "str",
            "hostname": "str",
            "pid": "int?",
            "queues": "[str]",
            "slots": "int",
            "slots_busy": "int",
            "alive": "bool",
            "last_heartbeat": "dt?",
            "running": "[RunningTry]",
        }
    ),
    "WorkerCollectionResponse": collection("workers", "WorkerResponse"),
    "QueueResponse": model(
        {
            "name": "str",
            "depth": "int",
            "pending": "int",
            "waiting": "int",
            "oldest_message_age": "num",
        }
    ),
    "QueueCollectionResponse": collection("queues", "QueueResponse"),
}

PATHS: Paths = {
    "/api/v2/workers": {
        "get": op("get_workers", "Worker", "WorkerCollectionResponse", errors=(401, 403))
    },
    "/api/v2/queues": {
        "get": op("get_queues", "Worker", "QueueCollectionResponse", errors=(401, 403))
    },
}
