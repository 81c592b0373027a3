"""XCom entries of a task instance (handlers: :mod:`airlane.api.xcoms`)."""

from __future__ import annotations

from airlane.api.spec.common import PAGE, order_by_list, ranges, searches
from airlane.api.spec.notation import (
    Paths,
    Schema,
    collection,
    model,
    op,
    param,
    path_params,
    refine,
)

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
    "ExtraLinkCollectionResponse": refine(
        model({"extra_links": "obj", "total_entries": "int"}),
        extra_links={
            "type": "object",
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    ),
    "XComCreateBody": refine(
        model({"key": "str", "value": "any", "map_index": "int?"}, closed=True),
        map_index={"type": "integer", "default": -1},
    ),
    "XComUpdateBody": refine(
        model({"value": "any", "map_index": "int?"}, closed=True),
        map_index={"type": "integer", "default": -1},
    ),
}
_IDS = path_params("dag_id", "dag_run_id", "task_id")
_KEY = path_params("dag_id", "dag_run_id", "task_id", "xcom_key")

_TI = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

PATHS: Paths = {
    _TI + "/xcomEntries": {
        "get": op(
            "get_xcom_entries",
            "XCom",
            "XComCollectionResponse",
            params=[
                *path_params("dag_id", "dag_run_id", "task_id"),
                *PAGE,
                param("xcom_key", "query", {"type": "string"}),
                param("map_index", "query", {"type": "integer", "minimum": -1}),
                *searches("xcom_key", "dag_display_name", "run_id", "task_id"),
                param("map_index_filter", "query", {"type": "integer"}),
                *ranges("logical_date", "run_after"),
                order_by_list(
                    "key", "dag_id", "run_id", "task_id", "map_index", "timestamp", "run_after"
                ),
            ],
            errors=(400, 401, 403, 404, 422),
        ),
        "post": op(
            "create_xcom_entry",
            "XCom",
            "XComResponseNative",
            params=_IDS,
            body="XComCreateBody",
            status=201,
            errors=(401, 403, 404, 409, 422),
        ),
    },
    # the URLs of the task's extra links, as its try pushed them (Airflow's get_extra_links)
    _TI + "/links": {
        "get": op(
            "get_extra_links",
            "Extra Links",
            "ExtraLinkCollectionResponse",
            params=[
                *_IDS,
                param("map_index", "query", {"type": "integer", "minimum": -1, "default": -1}),
                param("try_number", "query", {"type": "integer"}),
            ],
        ),
    },
    _TI + "/xcomEntries/{xcom_key}": {
        "get": op(
            "get_xcom_entry",
            "XCom",
            "XComResponseNative",
            params=[
                *_KEY,
                param("map_index", "query", {"type": "integer", "minimum": -1, "default": -1}),
                # the stored value's objects in readable form / the value as one string
                param("deserialize", "query", {"type": "boolean", "default": False}),
                param("stringify", "query", {"type": "boolean", "default": False}),
            ],
        ),
        "patch": op(
            "update_xcom_entry", "XCom", "XComResponseNative", params=_KEY, body="XComUpdateBody"
        ),
        # Airlane: airflowctl's ``xcom delete`` (Airflow 3.1's API has no such route)
        "delete": op(
            "delete_xcom_entry",
            "XCom",
            None,
            status=204,
            params=[*_KEY, param("map_index", "query", {"type": "integer", "minimum": -1})],
        ),
    },
}
