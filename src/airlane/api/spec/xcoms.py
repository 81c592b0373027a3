"""XCom entries of a task instance (handlers: :mod:`airlane.api.xcoms`)."""

from __future__ import annotations

from airlane.api.spec.notation import Paths, Schema, collection, model, op, path_params

SCHEMAS: dict[str, Schema] = {
    "XComResponseNative": model(
        {
            "key": "str",
            "timestamp": "dt?",
            "logical_date": "dt?",
            "map_index": "int",
            "task_id": "str",
            "dag_id": "str",
            "run_id": "str",
            "dag_display_name": "str",
            "task_display_name": "str",
            "run_after": "dt?",
            "value": "any",
        }
    ),
    "XComCollectionResponse": collection("xcom_entries", "XComResponseNative"),
}

_TI = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

PATHS: Paths = {
    _TI + "/xcomEntries": {
        "get": op(
            "get_xcom_entries",
            "XCom",
            "XComCollectionResponse",
            params=path_params("dag_id", "dag_run_id", "task_id"),
        )
    },
    _TI + "/xcomEntries/{xcom_key}": {
        "get": op(
            "get_xcom_entry",
            "XCom",
            "XComResponseNative",
            params=path_params("dag_id", "dag_run_id", "task_id", "xcom_key"),
        )
    },
}
