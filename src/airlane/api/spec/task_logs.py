"""A try's log, in pages or streamed (handler: :mod:`airlane.api.task_logs`)."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.notation import Paths, Schema, model, op, param, path_params

SCHEMAS: dict[str, Schema] = {
    "ExternalLogUrlResponse": model({"url": "str"}),
    "StructuredLogMessage": model({"event": "str", "timestamp": "dt?"}),
    "TaskInstancesLogResponse": model(
        {"content": "[StructuredLogMessage]", "continuation_token": "str?"}
    ),
}


def _with_streamed_forms(operation: dict[str, Any]) -> dict[str, Any]:
    """The log's other forms, as Airflow documents the NDJSON one: a string of JSON lines."""
    content = operation["responses"]["200"]["content"]
    content["application/x-ndjson"] = {
        "schema": {"type": "string", "example": '{"event": "line"}\n{"event": "line"}\n'}
    }
    content["text/plain"] = {"schema": {"type": "string"}}
    return operation


PATHS: Paths = {
    "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/externalLogUrl/"
    "{try_number}": {
        # Airflow's 400: Airlane's logs are in Redis, read through get_log
        "get": op(
            "get_external_log_url",
            "TaskInstance",
            "ExternalLogUrlResponse",
            params=[
                *path_params("dag_id", "dag_run_id", "task_id", "try_number"),
                param("map_index", "query", {"type": "integer", "minimum": -1, "default": -1}),
            ],
            errors=(400, 401, 403, 404, 422),
        )
    },
    "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}": {
        # One page and a continuation_token (token: the next page); the rest of the log
        # streamed with full_content=true, or as NDJSON or text by the Accept header.
        "get": _with_streamed_forms(
            op(
                "get_log",
                "TaskInstance",
                "TaskInstancesLogResponse",
                params=[
                    *path_params("dag_id", "dag_run_id", "task_id", "try_number"),
                    param("full_content", "query", {"type": "boolean", "default": False}),
                    param("map_index", "query", {"type": "integer", "minimum": -1, "default": -1}),
                    param("token", "query", {"type": "string"}),
                ],
                errors=(400, 401, 403, 404, 422),
            )
        )
    },
}
