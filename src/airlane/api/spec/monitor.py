"""Health, version and DAG import errors (handlers: :mod:`airlane.api.monitor`)."""

from __future__ import annotations

from airlane.api.spec.common import PAGE, order_by_list, searches
from airlane.api.spec.notation import Paths, Schema, collection, model, op, param, path_params

SCHEMAS: dict[str, Schema] = {
    "ImportErrorResponse": model(
        {
            "import_error_id": "int",
            "filename": "str",
            "bundle_name": "str?",
            "stack_trace": "str",
            "timestamp": "dt",
        }
    ),
    "ImportErrorCollectionResponse": collection("import_errors", "ImportErrorResponse"),
    "HealthInfoResponse": model(
        {"metadatabase": "obj", "scheduler": "obj", "triggerer": "obj", "dag_processor": "obj?"}
    ),
    "VersionInfo": model({"version": "str", "git_version": "str?"}),
}

PATHS: Paths = {
    "/api/v2/monitor/health": {
        "get": op("get_health", "Monitor", "HealthInfoResponse", errors=(), public=True)
    },
    "/api/v2/version": {"get": op("get_version", "Version", "VersionInfo", errors=(), public=True)},
    "/api/v2/importErrors": {
        "get": op(
            "get_import_errors",
            "ImportError",
            "ImportErrorCollectionResponse",
            params=[
                *PAGE,
                *searches("filename"),
                param("filename", "query", {"type": "string"}),
                param("bundle_name", "query", {"type": "string"}),
                order_by_list(
                    "id", "import_error_id", "timestamp", "filename", "bundle_name", "stacktrace"
                ),
            ],
            errors=(400, 401, 403, 422),
        )
    },
    "/api/v2/importErrors/{import_error_id}": {
        "get": op(
            "get_import_error",
            "ImportError",
            "ImportErrorResponse",
            params=path_params("import_error_id"),
        )
    },
}
