"""DAGs, their tasks and their source (handlers: :mod:`airlane.api.dags`)."""

from __future__ import annotations

from airlane.api import dag_filters
from airlane.api.spec.common import PAGE, order_by, order_by_list, ranges, searches
from airlane.api.spec.notation import (
    Paths,
    Schema,
    collection,
    model,
    op,
    param,
    path_params,
    query_list,
)

_DAG = {
    "dag_id": "str",
    "dag_display_name": "str",
    "description": "str?",
    "fileloc": "str",
    "relative_fileloc": "str?",
    "file_token": "str",
    "bundle_name": "str?",
    "bundle_version": "str?",
    "is_paused": "bool",
    "is_stale": "bool",
    "has_import_errors": "bool",
    "has_task_concurrency_limits": "bool",
    "is_backfillable": "bool",
    "last_expired": "dt?",
    "last_parsed_time": "dt?",
    "last_parse_duration": "num?",
    "max_active_runs": "int?",
    "max_active_tasks": "int",
    "max_consecutive_failed_dag_runs": "int",
    "next_dagrun_logical_date": "dt?",
    "next_dagrun_data_interval_start": "dt?",
    "next_dagrun_data_interval_end": "dt?",
    "next_dagrun_run_after": "dt?",
    "owners": "[str]",
    "tags": "[DagTagResponse]",
    "timetable_summary": "str?",
    "timetable_description": "str?",
    "timetable_partitioned": "bool",
    "timetable_periodic": "bool",
    "allowed_run_types": "[str]?",
}
_DAG_DETAILS = {
    **_DAG,
    "catchup": "bool",
    "dag_run_timeout": "num?",
    "doc_md": "str?",
    "start_date": "dt?",
    "end_date": "dt?",
    "is_paused_upon_creation": "bool?",
    "params": "obj?",
    "render_template_as_native_obj": "bool",
    "timezone": "str?",
    "owner_links": "obj?",
    "concurrency": "int",
    "last_parsed": "dt?",
    "latest_dag_version": "DagVersionResponse?",
    # Airlane: the DAG's task groups (group_id, label, parent, tooltip, children)
    "task_groups": "[obj]?",
    # Airflow's: the DAG's asset condition, each asset with its id (None: not asset-scheduled)
    "asset_expression": "obj?",
}
_TASK = {
    "task_id": "str?",
    "task_display_name": "str?",
    "owner": "str?",
    "trigger_rule": "str?",
    "depends_on_past": "bool",
    "wait_for_downstream": "bool",
    "retries": "num?",
    "queue": "str?",
    "pool": "str?",
    "pool_slots": "num?",
    "priority_weight": "num?",
    "weight_rule": "str?",
    "ui_color": "str?",
    "ui_fgcolor": "str?",
    "template_fields": "[str]?",
    "downstream_task_ids": "[str]?",
    "doc_md": "str?",
    "operator_name": "str?",
    "params": "obj?",
    "class_ref": "obj?",
    "is_mapped": "bool?",
    "extra_links": "[str]",
}

_RUN_STATES = ["queued", "running", "success", "failed"]

SCHEMAS: dict[str, Schema] = {
    "DagTagResponse": model({"name": "str", "dag_id": "str", "dag_display_name": "str"}),
    "DAGResponse": model(_DAG),
    "DAGDetailsResponse": model(_DAG_DETAILS),
    "DAGCollectionResponse": collection("dags", "DAGResponse"),
    "DAGPatchBody": model({"is_paused": "bool"}, closed=True),
    "TaskResponse": model(_TASK),
    "TaskCollectionResponse": collection("tasks", "TaskResponse"),
    "DAGSourceResponse": model(
        {"dag_id": "str", "dag_display_name": "str", "content": "str?", "version_number": "int?"}
    ),
}

_D = "/api/v2/dags/{dag_id}"

PATHS: Paths = {
    "/api/v2/dags": {
        "get": op(
            "get_dags",
            "DAG",
            "DAGCollectionResponse",
            params=[
                *PAGE,
                query_list("tags"),
                param("tags_match_mode", "query", {"type": "string", "enum": ["any", "all"]}),
                param("paused", "query", {"type": "boolean"}),
                *searches(*dag_filters.SEARCHES),
                query_list("owners"),
                *(
                    param(name, "query", {"type": "boolean"})
                    for name in (
                        "exclude_stale",
                        "has_import_errors",
                        "is_favorite",
                        "has_asset_schedule",
                    )
                ),
                *(
                    param(name, "query", {"type": "string"})
                    for name in ("bundle_name", "bundle_version", "asset_dependency")
                ),
                query_list("timetable_type"),
                param("last_dag_run_state", "query", {"type": "string", "enum": _RUN_STATES}),
                param(
                    "dag_run_state",
                    "query",
                    {"type": "array", "items": {"type": "string", "enum": _RUN_STATES}},
                ),
                *ranges("dag_run_start_date", "dag_run_end_date"),
                order_by_list(*dag_filters.ORDER_FIELDS),
            ],
            errors=(400, 401, 403, 422),
        ),
        "patch": op(
            "patch_dags",
            "DAG",
            "DAGCollectionResponse",
            params=[
                *PAGE,
                query_list("tags"),
                param("tags_match_mode", "query", {"type": "string", "enum": ["any", "all"]}),
                query_list("owners"),
                *searches("dag_id"),
                param("exclude_stale", "query", {"type": "boolean"}),
                param("paused", "query", {"type": "boolean"}),
                query_list("update_mask"),
            ],
            body="DAGPatchBody",
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v2/parseDagFile/{file_token}": {
        "put": op(
            "reparse_dag_file", "DAG Parsing", "any", params=path_params("file_token"), status=201
        )
    },
    _D + "/favorite": {
        "post": op("favorite_dag", "DAG", None, params=path_params("dag_id"), status=204)
    },
    _D + "/unfavorite": {
        "post": op(
            "unfavorite_dag",
            "DAG",
            None,
            params=path_params("dag_id"),
            status=204,
            errors=(401, 403, 404, 409, 422),
        )
    },
    _D: {
        "get": op("get_dag", "DAG", "DAGResponse", params=path_params("dag_id")),
        "patch": op(
            "patch_dag",
            "DAG",
            "DAGResponse",
            params=[*path_params("dag_id"), query_list("update_mask")],
            body="DAGPatchBody",
            errors=(400, 401, 403, 404, 422),
        ),
        # 409 while a run of the DAG is queued or running
        "delete": op(
            "delete_dag",
            "DAG",
            None,
            status=204,
            params=path_params("dag_id"),
            errors=(401, 403, 404, 409, 422),
        ),
    },
    _D + "/details": {
        "get": op("get_dag_details", "DAG", "DAGDetailsResponse", params=path_params("dag_id"))
    },
    _D + "/tasks": {
        "get": op(
            "get_tasks",
            "Task",
            "TaskCollectionResponse",
            params=[
                *path_params("dag_id"),
                order_by("task_id", "task_display_name", "priority_weight"),
            ],
        )
    },
    _D + "/tasks/{task_id}": {
        "get": op("get_task", "Task", "TaskResponse", params=path_params("dag_id", "task_id"))
    },
    "/api/v2/dagSources/{dag_id}": {
        "get": op(
            "get_dag_source",
            "DagSource",
            "DAGSourceResponse",
            params=[
                *path_params("dag_id"),
                param("version_number", "query", {"type": "integer"}),
            ],
        )
    },
}
