"""Task instances: list, read, mark, clear and tries (handlers:
:mod:`airlane.api.task_instances`)."""

from __future__ import annotations

from typing import Any

from airlane.api import ti_filters
from airlane.api.spec.bulk import bulk_op
from airlane.api.spec.common import PAGE, cursor_collection
from airlane.api.spec.notation import (
    TYPES,
    Paths,
    Schema,
    collection,
    model,
    nullable,
    op,
    param,
    path_params,
    query_list,
    refine,
    type_schema,
)

_COMMON = {
    "task_id": "str",
    "task_display_name": "str",
    "dag_id": "str",
    "dag_display_name": "str",
    "dag_run_id": "str",
    "dag_version": "obj?",
    "map_index": "int",
    "logical_date": "dt?",
    "start_date": "dt?",
    "end_date": "dt?",
    "duration": "num?",
    "state": "TaskInstanceState?",
    "try_number": "int",
    "max_tries": "int",
    "hostname": "str?",
    "unixname": "str?",
    "pool": "str",
    "pool_slots": "int",
    "queue": "str?",
    "priority_weight": "int?",
    "operator": "str?",
    "operator_name": "str?",
    "queued_when": "dt?",
    "scheduled_when": "dt?",
    "pid": "int?",
    "executor": "str?",
    "executor_config": "str",
}
_PATCH = {
    "new_state": "str?",
    "note": "str?",
    "include_upstream": "bool?",
    "include_downstream": "bool?",
    "include_future": "bool?",
    "include_past": "bool?",
}
_CLEAR = {
    "dag_run_id": "str?",
    "dry_run": "bool?",
    "start_date": "dt?",
    "end_date": "dt?",
    "include_downstream": "bool?",
    "include_future": "bool?",
    "include_past": "bool?",
    "include_upstream": "bool?",
    "note": "str?",
    "only_failed": "bool?",
    "only_running": "bool?",
    "prevent_running_task": "bool?",
    "reset_dag_runs": "bool?",
    "run_on_latest_version": "bool?",
    "task_ids": "[any]?",
}
_BATCH = {
    "dag_ids": "[str]?",
    "dag_run_ids": "[str]?",
    "task_ids": "[str]?",
    "state": "[any]?",
    "pool": "[str]?",
    "queue": "[str]?",
    "executor": "[str]?",
    "page_offset": "int?",
    "page_limit": "int?",
    "order_by": "str?",
    **{
        f"{name}_{bound}": "num?" if name == "duration" else "dt?"
        for name in ("run_after", "logical_date", "start_date", "end_date", "duration")
        for bound in ("gte", "gt", "lte", "lt")
    },
}

SCHEMAS: dict[str, Schema] = {
    "TaskInstanceState": {
        "type": "string",
        "enum": [
            "removed",
            "scheduled",
            "queued",
            "running",
            "success",
            "restarting",
            "failed",
            "up_for_retry",
            "up_for_reschedule",
            "upstream_failed",
            "skipped",
            "deferred",
        ],
    },
    "TaskInstanceResponse": model(
        {
            **_COMMON,
            "id": "uuid",
            "rendered_map_index": "str?",
            "run_after": "dt",
            "note": "str?",
            "rendered_fields": "obj?",
            "trigger": "TriggerResponse?",
            "triggerer_job": "JobResponse?",
        }
    ),
    # a deferred instance's trigger and the triggerer running it (Airflow's shapes; the ids
    # are numbers derived from Airlane's trigger keys and triggerer ids)
    "TriggerResponse": model(
        {
            "id": "int",
            "classpath": "str",
            "kwargs": "str",
            "created_date": "dt",
            "triggerer_id": "int?",
        }
    ),
    "JobResponse": model(
        {
            "id": "int",
            "dag_id": "str?",
            "state": "str?",
            "job_type": "str?",
            "start_date": "dt?",
            "end_date": "dt?",
            "latest_heartbeat": "dt?",
            "executor_class": "str?",
            "hostname": "str?",
            "unixname": "str?",
            "dag_display_name": "str?",
            # Airlane's, in /api/v2/jobs: whether the process beat within its threshold
            "is_alive": "bool?",
        }
    ),
    "TaskInstanceCollectionResponse": cursor_collection("task_instances", "TaskInstanceResponse"),
    "TaskInstanceHistoryResponse": model(_COMMON),
    "TaskInstanceHistoryCollectionResponse": collection(
        "task_instances", "TaskInstanceHistoryResponse"
    ),
    "PatchTaskInstanceBody": refine(
        model(_PATCH, closed=True),
        new_state=nullable({"type": "string", "enum": ["success", "failed", "skipped"]}),
    ),
    # why an instance is not queued yet (the dependencies that fail)
    "TaskDependencyResponse": model({"name": "str", "reason": "str"}),
    "TaskDependencyCollectionResponse": model({"dependencies": "[TaskDependencyResponse]"}),
    # the bulk PATCH's entity: a mark of one task's instances (no map index: all of them)
    "BulkTaskInstanceBody": refine(
        model(
            {
                **_PATCH,
                "task_id": "str",
                "map_index": "int?",
                "dag_id": "str?",
                "dag_run_id": "str?",
            },
            closed=True,
        ),
        new_state=nullable({"type": "string", "enum": ["success", "failed", "skipped"]}),
    ),
    # Airflow's: each task id alone, or a (task id, map index) pair
    "ClearTaskInstancesBody": refine(
        model(_CLEAR, closed=True),
        task_ids=nullable(
            {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"type": "string"},
                        {
                            "type": "array",
                            "prefixItems": [{"type": "string"}, {"type": "integer"}],
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    ]
                },
            }
        ),
    ),
    "TaskInstancesBatchBody": refine(
        model(_BATCH, closed=True),
        # Airflow's: task instance states, null for an instance with none
        state=nullable(
            {"type": "array", "items": nullable(type_schema("TaskInstanceState"))},
        ),
        page_offset={"type": "integer", "minimum": 0},
        page_limit={"type": "integer", "minimum": 0, "maximum": 1000},
    ),
}

#: the GET listing's filters, order and cursor (api/ti_filters.py)
_LIST_QUERY = [
    param("cursor", "query", TYPES["str"]),
    query_list("state"),
    query_list("task_id"),
    param("task_group_id", "query", TYPES["str"]),
    *(
        param(f"{name}_{bound}", "query", TYPES["dt" if is_date else "num"])
        for name, is_date in ti_filters.RANGES.items()
        for bound in ("gte", "gt", "lte", "lt")
    ),
    *(
        param(name, "query", {"type": "array", "items": TYPES["int" if is_int else "str"]})
        for name, is_int in ti_filters.QUERY_LISTS.items()
    ),
    *(
        param(f"{name}{kind}", "query", TYPES["str"])
        for name in ti_filters.SEARCHES
        for kind in ("_pattern", "_prefix_pattern")
    ),
    param(
        "order_by",
        "query",
        {
            "type": "array",
            "items": {
                "type": "string",
                "enum": [
                    *ti_filters.QUERY_ORDER_FIELDS,
                    *(f"-{f}" for f in ti_filters.QUERY_ORDER_FIELDS),
                ],
            },
        },
    ),
]

#: what the listing of a mapped task's instances does not take (get_mapped_task_instances)
_NOT_MAPPED_QUERY = {
    "cursor",
    "task_id",
    "task_group_id",
    *(
        f"{name}{kind}"
        for name in ("task_display_name", "dag_id", "run_id")
        for kind in ("_pattern", "_prefix_pattern")
    ),
}

_RUN = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}"
_TI = _RUN + "/taskInstances/{task_id}"


def _instance_paths() -> Paths:
    """One task instance, plain and mapped (``/{map_index}``): read, mark, and a mark's dry run,
    under Airflow's operation ids."""

    def mark(op_id: str, params: list[dict[str, Any]], *more: int) -> dict[str, Any]:
        collection = "TaskInstanceCollectionResponse"
        errors = tuple(sorted({401, 403, 404, 422, *more}))
        body = "PatchTaskInstanceBody"
        return op(op_id, "TaskInstance", collection, params=params, body=body, errors=errors)

    paths: Paths = {}
    for mapped in (False, True):
        params = path_params("dag_id", "dag_run_id", "task_id", *(("map_index",) if mapped else ()))
        # (no map index: every instance of the task)
        any_index = (
            [] if mapped else [param("map_index", "query", {"type": "integer", "minimum": -1})]
        )
        marks = [*params, *any_index, query_list("update_mask")]
        any_index_default = (
            [] if mapped else [param("map_index", "query", {"type": "integer", "default": -1})]
        )
        base = _TI + ("/{map_index}" if mapped else "")
        suffix = "_by_map_index" if mapped else ""
        read = "get_mapped_task_instance" if mapped else "get_task_instance"
        paths[base] = {
            "get": op(read, "TaskInstance", "TaskInstanceResponse", params=params),
            "patch": mark(f"patch_task_instance{suffix}", marks, 409),
        }
        if not mapped:  # (refused: Airlane does not delete an instance out of its run)
            paths[base]["delete"] = op(
                "delete_task_instance",
                "TaskInstance",
                None,
                params=[*params, param("map_index", "query", {"type": "integer", "default": -1})],
                errors=(401, 403, 404, 405, 422),
            )
        paths[base + "/dry_run"] = {"patch": mark(f"patch_task_instance_dry_run{suffix}", marks)}
        deps_id = "get_task_instance_dependencies" + ("_by_map_index" if mapped else "")
        paths[base + "/dependencies"] = {
            "get": op(
                deps_id,
                "TaskInstance",
                "TaskDependencyCollectionResponse",
                params=[*params, *any_index_default],
            )
        }
        tries_id = "get_mapped_task_instance_tries" if mapped else "get_task_instance_tries"
        paths[base + "/tries"] = {
            "get": op(
                tries_id, "TaskInstance", "TaskInstanceHistoryCollectionResponse", params=params
            )
        }
        try_id = (
            "get_mapped_task_instance_try_details" if mapped else "get_task_instance_try_details"
        )
        paths[base + "/tries/{task_try_number}"] = {
            "get": op(
                try_id,
                "TaskInstance",
                "TaskInstanceHistoryResponse",
                params=[*params, param("task_try_number", "path", TYPES["int"])],
            )
        }
    return paths


def _group_paths() -> Paths:
    """A task group's instances marked together, and the dry run of it."""
    base = _RUN + "/taskGroupInstances/{group_id}"
    params = [*path_params("dag_id", "dag_run_id", "group_id"), query_list("update_mask")]
    paths: Paths = {}
    for suffix, path in (("", base), ("_dry_run", base + "/dry_run")):
        paths[path] = {
            "patch": op(
                f"patch_task_group_instances{suffix}",
                "TaskInstance",
                "TaskInstanceCollectionResponse",
                params=params,
                body="PatchTaskInstanceBody",
                errors=(400, 401, 403, 404, 409, 422) if not suffix else (400, 401, 403, 404, 422),
            )
        }
    return paths


PATHS: Paths = {
    _RUN + "/taskInstances": {
        "get": op(
            "get_task_instances",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=[*path_params("dag_id", "dag_run_id"), *PAGE, *_LIST_QUERY],
            errors=(400, 401, 403, 404, 422),
        ),
        "patch": bulk_op(
            "TaskInstance", "bulk_task_instances", path_params("dag_id", "dag_run_id")
        ),
    },
    **_instance_paths(),
    _RUN + "/taskInstances/list": {
        "post": op(
            "get_task_instances_batch",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=path_params("dag_id", "dag_run_id"),
            body="TaskInstancesBatchBody",
            errors=(400, 401, 403, 404, 422),
        )
    },
    _TI + "/listMapped": {
        "get": op(
            "get_mapped_task_instances",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=[
                *path_params("dag_id", "dag_run_id", "task_id"),
                *PAGE,
                *(p for p in _LIST_QUERY if p["name"] not in _NOT_MAPPED_QUERY),
            ],
            errors=(400, 401, 403, 404, 422),
        )
    },
    **_group_paths(),
    "/api/v2/dags/{dag_id}/clearTaskInstances": {
        "post": op(
            "post_clear_task_instances",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=path_params("dag_id"),
            body="ClearTaskInstancesBody",
        )
    },
}
