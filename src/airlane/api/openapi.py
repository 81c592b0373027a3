"""The OpenAPI 3.1 document of what this API implements, served at ``/api/v2/openapi.json``.

Schemas follow Airflow 3's public API document (names, fields, which are required and which
nullable) for the resources Airlane shares with it. Fields are written in a small notation:
``str``, ``int``, ``num``, ``bool``, ``dt`` (date-time), ``uuid``, ``obj``, ``any``,
``[X]`` (array of X), a schema name, and a trailing ``?`` for optional and nullable.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from airlane import __version__
from airlane.api.errors import json_response

_TYPES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "num": {"type": "number"},
    "bool": {"type": "boolean"},
    "dt": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "obj": {"type": "object", "additionalProperties": True},
    "any": {},
}


def _type(spec: str) -> dict[str, Any]:
    if spec.startswith("["):
        return {"type": "array", "items": _type(spec[1:-1])}
    if spec in _TYPES:
        return dict(_TYPES[spec])
    return {"$ref": f"#/components/schemas/{spec}"}


def model(fields: dict[str, str], *, closed: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in fields.items():
        optional = spec.endswith("?")
        schema = _type(spec.rstrip("?"))
        if optional:
            schema = {"anyOf": [schema, {"type": "null"}]}
        else:
            required.append(name)
        properties[name] = schema
    result: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if closed:
        result["additionalProperties"] = False
    return result


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
_TI_COMMON = {
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

SCHEMAS: dict[str, dict[str, Any]] = {
    "HTTPExceptionResponse": model({"detail": "any"}),
    "ValidationError": model({"loc": "[any]", "msg": "str", "type": "str"}),
    "HTTPValidationError": model({"detail": "[ValidationError]"}),
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
    "DagRunState": {"type": "string", "enum": ["queued", "running", "success", "failed"]},
    "DagRunType": {
        "type": "string",
        "enum": ["backfill", "scheduled", "manual", "asset_triggered"],
    },
    "DagTagResponse": model({"name": "str", "dag_id": "str", "dag_display_name": "str"}),
    "DAGResponse": model(_DAG),
    "DAGDetailsResponse": model(
        {
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
            # Airlane: the DAG's task groups (group_id, label, parent, tooltip, children)
            "task_groups": "[obj]?",
        }
    ),
    "DAGCollectionResponse": model({"dags": "[DAGResponse]", "total_entries": "int"}),
    "DAGPatchBody": model({"is_paused": "bool"}, closed=True),
    "TaskResponse": model(
        {
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
    ),
    "TaskCollectionResponse": model({"tasks": "[TaskResponse]", "total_entries": "int"}),
    "DAGSourceResponse": model(
        {"dag_id": "str", "dag_display_name": "str", "content": "str?", "version_number": "int?"}
    ),
    "DAGRunResponse": model(
        {
            "dag_id": "str",
            "dag_run_id": "str",
            "dag_display_name": "str",
            "dag_versions": "[obj]",
            "bundle_version": "str?",
            "conf": "obj?",
            "state": "DagRunState",
            "run_type": "DagRunType",
            "logical_date": "dt?",
            "run_after": "dt",
            "data_interval_start": "dt?",
            "data_interval_end": "dt?",
            "queued_at": "dt?",
            "start_date": "dt?",
            "end_date": "dt?",
            "duration": "num?",
            "last_scheduling_decision": "dt?",
            "note": "str?",
            "triggered_by": "str?",
            "triggering_user_name": "str?",
            "partition_date": "dt?",
            "partition_key": "str?",
        }
    ),
    "DAGRunCollectionResponse": model({"dag_runs": "[DAGRunResponse]", "total_entries": "int"}),
    "TriggerDAGRunPostBody": model(
        {
            "dag_run_id": "str?",
            "logical_date": "dt?",
            "data_interval_start": "dt?",
            "data_interval_end": "dt?",
            "run_after": "dt?",
            "conf": "obj?",
            "note": "str?",
            "partition_key": "str?",
        },
        closed=True,
    ),
    "DAGRunPatchBody": model({"state": "DagRunState?", "note": "str?"}, closed=True),
    "DAGRunClearBody": model(
        {
            "dry_run": "bool?",
            "only_failed": "bool?",
            "only_new": "bool?",
            "note": "str?",
            "run_on_latest_version": "bool?",
        },
        closed=True,
    ),
    "TaskInstanceResponse": model(
        {
            **_TI_COMMON,
            "id": "uuid",
            "rendered_map_index": "str?",
            "run_after": "dt",
            "note": "str?",
            "rendered_fields": "obj?",
            "trigger": "obj?",
            "triggerer_job": "obj?",
        }
    ),
    "TaskInstanceCollectionResponse": model(
        {"task_instances": "[TaskInstanceResponse]", "total_entries": "int"}
    ),
    "TaskInstanceHistoryResponse": model(_TI_COMMON),
    "TaskInstanceHistoryCollectionResponse": model(
        {"task_instances": "[TaskInstanceHistoryResponse]", "total_entries": "int"}
    ),
    "PatchTaskInstanceBody": model(
        {
            "new_state": "str?",
            "note": "str?",
            "include_upstream": "bool?",
            "include_downstream": "bool?",
            "include_future": "bool?",
            "include_past": "bool?",
        },
        closed=True,
    ),
    "ClearTaskInstancesBody": model(
        {
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
        },
        closed=True,
    ),
    "StructuredLogMessage": model({"event": "str", "timestamp": "dt?"}),
    "TaskInstancesLogResponse": model(
        {"content": "[StructuredLogMessage]", "continuation_token": "str?"}
    ),
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
    "XComCollectionResponse": model(
        {"xcom_entries": "[XComResponseNative]", "total_entries": "int"}
    ),
    "PoolResponse": model(
        {
            "name": "str",
            "slots": "int",
            "description": "str?",
            "include_deferred": "bool",
            "occupied_slots": "int",
            "running_slots": "int",
            "queued_slots": "int",
            "scheduled_slots": "int",
            "open_slots": "int",
            "deferred_slots": "int",
            "team_name": "str?",
        }
    ),
    "PoolCollectionResponse": model({"pools": "[PoolResponse]", "total_entries": "int"}),
    "PoolBody": model(
        {
            "name": "str",
            "slots": "int",
            "description": "str?",
            "include_deferred": "bool?",
            "team_name": "str?",
        },
        closed=True,
    ),
    "PoolPatchBody": model(
        {
            "pool": "str?",
            "slots": "int?",
            "description": "str?",
            "include_deferred": "bool?",
            "team_name": "str?",
        },
        closed=True,
    ),
    "VariableResponse": model(
        {
            "key": "str",
            "value": "str?",
            "description": "str?",
            "is_encrypted": "bool",
            "team_name": "str?",
        }
    ),
    "VariableCollectionResponse": model(
        {"variables": "[VariableResponse]", "total_entries": "int"}
    ),
    "VariableBody": model(
        {"key": "str", "value": "any", "description": "str?", "team_name": "str?"}, closed=True
    ),
    "ImportErrorResponse": model(
        {
            "import_error_id": "int",
            "filename": "str",
            "bundle_name": "str?",
            "stack_trace": "str",
            "timestamp": "dt",
        }
    ),
    "ImportErrorCollectionResponse": model(
        {"import_errors": "[ImportErrorResponse]", "total_entries": "int"}
    ),
    "HealthInfoResponse": model(
        {"metadatabase": "obj", "scheduler": "obj", "triggerer": "obj", "dag_processor": "obj?"}
    ),
    "VersionInfo": model({"version": "str", "git_version": "str?"}),
    "BackfillResponse": model(
        {
            "id": "int",
            "dag_id": "str",
            "dag_display_name": "str",
            "from_date": "dt",
            "to_date": "dt",
            "dag_run_conf": "obj?",
            "is_paused": "bool",
            "reprocess_behavior": "str",
            "max_active_runs": "int",
            "created_at": "dt",
            "completed_at": "dt?",
            "updated_at": "dt",
        }
    ),
    "BackfillCollectionResponse": model(
        {"backfills": "[BackfillResponse]", "total_entries": "int"}
    ),
    "DryRunBackfillResponse": model(
        {"logical_date": "dt?", "partition_date": "dt?", "partition_key": "str?"}
    ),
    "DryRunBackfillCollectionResponse": model(
        {"backfills": "[DryRunBackfillResponse]", "total_entries": "int"}
    ),
    "BackfillPostBody": model(
        {
            "dag_id": "str",
            "from_date": "dt",
            "to_date": "dt",
            "run_backwards": "bool?",
            "dag_run_conf": "obj?",
            "reprocess_behavior": "str?",
            "max_active_runs": "int?",
            "run_on_latest_version": "bool?",
        },
        closed=True,
    ),
    "TaskInstancesBatchBody": model(
        {
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
            "run_after_gte": "dt?",
            "run_after_lte": "dt?",
            "logical_date_gte": "dt?",
            "logical_date_lte": "dt?",
            "start_date_gte": "dt?",
            "start_date_lte": "dt?",
            "end_date_gte": "dt?",
            "end_date_lte": "dt?",
            "duration_gte": "num?",
            "duration_lte": "num?",
        },
        closed=True,
    ),
    # Airlane's own resources: workers and task queues
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
    "WorkerCollectionResponse": model({"workers": "[WorkerResponse]", "total_entries": "int"}),
    "QueueResponse": model(
        {
            "name": "str",
            "depth": "int",
            "pending": "int",
            "waiting": "int",
            "oldest_message_age": "num",
        }
    ),
    "QueueCollectionResponse": model({"queues": "[QueueResponse]", "total_entries": "int"}),
    "LoginBody": model({"username": "str", "password": "str", "grant_type": "str?"}, closed=True),
    "LoginResponse": model({"access_token": "str"}),
}
# The body schemas above mirror the request validation: their fields' lengths and bounds.
SCHEMAS["PoolBody"]["properties"]["slots"] = {"type": "integer", "minimum": -1}
SCHEMAS["PoolBody"]["properties"]["name"] = {"type": "string", "minLength": 1, "maxLength": 256}
SCHEMAS["VariableBody"]["properties"]["key"] = {"type": "string", "minLength": 1, "maxLength": 250}
SCHEMAS["PoolPatchBody"]["properties"]["slots"] = {
    "anyOf": [{"type": "integer", "minimum": -1}, {"type": "null"}]
}
for _name in ("PoolBody", "PoolPatchBody", "VariableBody"):  # Airflow's limit on team names
    SCHEMAS[_name]["properties"]["team_name"] = {
        "anyOf": [{"type": "string", "maxLength": 50}, {"type": "null"}]
    }
# Airflow's: optional, but never null (the handlers refuse null as Airflow's models do)
SCHEMAS["BackfillPostBody"]["properties"]["max_active_runs"] = {"type": "integer", "default": 10}
SCHEMAS["BackfillPostBody"]["properties"]["reprocess_behavior"] = {
    "anyOf": [{"type": "string", "enum": ["none", "failed", "completed"]}, {"type": "null"}]
}
# Airflow's: task instance states, null for an instance with none
SCHEMAS["TaskInstancesBatchBody"]["properties"]["state"] = {
    "anyOf": [
        {"type": "array", "items": {"anyOf": [_type("TaskInstanceState"), {"type": "null"}]}},
        {"type": "null"},
    ]
}
SCHEMAS["TaskInstancesBatchBody"]["properties"]["page_offset"] = {"type": "integer", "minimum": 0}
SCHEMAS["TaskInstancesBatchBody"]["properties"]["page_limit"] = {
    "type": "integer",
    "minimum": 0,
    "maximum": 1000,
}
# Airflow's DAGRunPatchStates: a run is set to one of these three only
SCHEMAS["DAGRunPatchBody"]["properties"]["state"] = {
    "anyOf": [{"type": "string", "enum": ["queued", "success", "failed"]}, {"type": "null"}]
}
# Airflow's: each a task id, or a (task id, map index) pair
SCHEMAS["ClearTaskInstancesBody"]["properties"]["task_ids"] = {
    "anyOf": [
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
        },
        {"type": "null"},
    ]
}
SCHEMAS["PatchTaskInstanceBody"]["properties"]["new_state"] = {
    "anyOf": [{"type": "string", "enum": ["success", "failed", "skipped"]}, {"type": "null"}]
}

_ERRORS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    422: "Validation Error",
}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def _path(*names: str) -> list[dict[str, Any]]:
    ints = {"map_index", "try_number", "import_error_id"}
    return [_param(n, "path", _TYPES["int" if n in ints else "str"]) for n in names]


_PAGE = [
    _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 1000, "default": 50}),
    _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}),
]


def _order_by(*fields: str, default: str | None = None) -> dict[str, Any]:
    """``order_by``: the fields a list sorts by, each also descending (``-field``)."""
    schema: dict[str, Any] = {"type": "string", "enum": [*fields, *(f"-{f}" for f in fields)]}
    if default:
        schema["default"] = default
    return _param("order_by", "query", schema)


def _op(
    op_id: str,
    tag: str,
    response: str | None,
    *,
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (401, 403, 404, 422),
    public: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if response is None:
        responses[str(status)] = {"description": "Successful Response"}
    else:
        responses[str(status)] = {
            "description": "Successful Response",
            "content": {"application/json": {"schema": _type(response)}},
        }
    for code in sorted(set(errors) | ({413} if body else set())):
        schema = "HTTPValidationError" if code == 422 else "HTTPExceptionResponse"
        responses[str(code)] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": _type(schema)}},
        }
    op: dict[str, Any] = {"operationId": op_id, "tags": [tag], "responses": responses}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _type(body)}},
        }
    if public:
        op["security"] = []
    return op


def _with_streamed_forms(op: dict[str, Any]) -> dict[str, Any]:
    """The log's other forms, as Airflow documents the NDJSON one: a string of JSON lines."""
    content = op["responses"]["200"]["content"]
    content["application/x-ndjson"] = {
        "schema": {"type": "string", "example": '{"event": "line"}\n{"event": "line"}\n'}
    }
    content["text/plain"] = {"schema": {"type": "string"}}
    return op


_D = "/api/v2/dags/{dag_id}"
_R = _D + "/dagRuns/{dag_run_id}"
_TI = _R + "/taskInstances/{task_id}"


def _instance_paths() -> dict[str, dict[str, Any]]:
    """One task instance, plain and mapped (``/{map_index}``): read, mark, and a mark's dry run,
    under Airflow's operation ids."""

    def mark(op_id: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        collection = "TaskInstanceCollectionResponse"
        return _op(op_id, "TaskInstance", collection, params=params, body="PatchTaskInstanceBody")

    paths: dict[str, dict[str, Any]] = {}
    for mapped in (False, True):
        params = _path("dag_id", "dag_run_id", "task_id", *(("map_index",) if mapped else ()))
        base = _TI + ("/{map_index}" if mapped else "")
        suffix = "_by_map_index" if mapped else ""
        read = "get_mapped_task_instance" if mapped else "get_task_instance"
        paths[base] = {
            "get": _op(read, "TaskInstance", "TaskInstanceResponse", params=params),
            "patch": mark(f"patch_task_instance{suffix}", params),
        }
        paths[base + "/dry_run"] = {"patch": mark(f"patch_task_instance_dry_run{suffix}", params)}
    return paths


PATHS: dict[str, dict[str, Any]] = {
    "/auth/token": {
        "post": _op(
            "create_token",
            "Login",
            "LoginResponse",
            body="LoginBody",
            status=201,
            errors=(401, 422),
            public=True,
        )
    },
    "/api/v2/auth/logout": {
        # Airflow's: revokes the token it is sent with, then redirects to the sign-in page
        "get": _op("logout", "Login", None, status=307, errors=(401,))
    },
    # Airlane: revoke one token by its id (the JWT's jti; admins only)
    "/api/v2/auth/tokens/{token_id}": {
        "delete": _op(
            "revoke_token", "Login", None, status=204, params=_path("token_id"), errors=(401, 403)
        )
    },
    # Airlane: revoke every token of a user issued so far (admins, or that user)
    "/api/v2/auth/users/{username}/tokens": {
        "delete": _op(
            "revoke_user_tokens",
            "Login",
            None,
            status=204,
            params=_path("username"),
            errors=(401, 403),
        )
    },
    "/api/v2/monitor/health": {
        "get": _op("get_health", "Monitor", "HealthInfoResponse", errors=(), public=True)
    },
    "/api/v2/version": {
        "get": _op("get_version", "Version", "VersionInfo", errors=(), public=True)
    },
    "/api/v2/dags": {
        "get": _op(
            "get_dags",
            "DAG",
            "DAGCollectionResponse",
            params=[
                *_PAGE,
                _param("tags", "query", {"type": "array", "items": {"type": "string"}}),
                _param("tags_match_mode", "query", {"type": "string", "enum": ["any", "all"]}),
                _param("paused", "query", {"type": "boolean"}),
                _param("dag_id_pattern", "query", {"type": "string"}),
                _order_by(
                    "dag_id", "dag_display_name", "is_paused", "max_active_tasks", default="dag_id"
                ),
            ],
            errors=(401, 403, 422),
        )
    },
    _D: {
        "get": _op("get_dag", "DAG", "DAGResponse", params=_path("dag_id")),
        "patch": _op(
            "patch_dag", "DAG", "DAGResponse", params=_path("dag_id"), body="DAGPatchBody"
        ),
    },
    _D + "/details": {
        "get": _op("get_dag_details", "DAG", "DAGDetailsResponse", params=_path("dag_id"))
    },
    _D + "/tasks": {
        "get": _op(
            "get_tasks",
            "Task",
            "TaskCollectionResponse",
            params=[
                *_path("dag_id"),
                _order_by("task_id", "task_display_name", "priority_weight"),
            ],
        )
    },
    _D + "/tasks/{task_id}": {
        "get": _op("get_task", "Task", "TaskResponse", params=_path("dag_id", "task_id"))
    },
    "/api/v2/dagSources/{dag_id}": {
        "get": _op("get_dag_source", "DagSource", "DAGSourceResponse", params=_path("dag_id"))
    },
    _D + "/dagRuns": {
        "get": _op(
            "get_dag_runs",
            "DagRun",
            "DAGRunCollectionResponse",
            params=[
                *_path("dag_id"),
                *_PAGE,
                _param("state", "query", {"type": "array", "items": {"type": "string"}}),
                _order_by(
                    "run_after", "logical_date", "start_date", "end_date", "dag_run_id", "id"
                ),
            ],
        ),
        "post": _op(
            "trigger_dag_run",
            "DagRun",
            "DAGRunResponse",
            params=_path("dag_id"),
            body="TriggerDAGRunPostBody",
            errors=(400, 401, 403, 404, 409, 422),
        ),
    },
    _R: {
        "get": _op("get_dag_run", "DagRun", "DAGRunResponse", params=_path("dag_id", "dag_run_id")),
        "patch": _op(
            "patch_dag_run",
            "DagRun",
            "DAGRunResponse",
            params=_path("dag_id", "dag_run_id"),
            body="DAGRunPatchBody",
        ),
        "delete": _op(
            "delete_dag_run",
            "DagRun",
            None,
            status=204,
            params=_path("dag_id", "dag_run_id"),
            errors=(401, 403, 404, 409, 422),
        ),
    },
    _R + "/clear": {
        "post": _op(
            "clear_dag_run",
            "DagRun",
            "any",
            params=_path("dag_id", "dag_run_id"),
            body="DAGRunClearBody",
        )
    },
    _R + "/taskInstances": {
        "get": _op(
            "get_task_instances",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=[
                *_path("dag_id", "dag_run_id"),
                *_PAGE,
                _param("state", "query", {"type": "array", "items": {"type": "string"}}),
                _param("task_id", "query", {"type": "array", "items": {"type": "string"}}),
            ],
        )
    },
    **_instance_paths(),
    _R + "/taskInstances/list": {
        "post": _op(
            "get_task_instances_batch",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=_path("dag_id", "dag_run_id"),
            body="TaskInstancesBatchBody",
        )
    },
    _TI + "/tries": {
        "get": _op(
            "get_task_instance_tries",
            "TaskInstance",
            "TaskInstanceHistoryCollectionResponse",
            params=_path("dag_id", "dag_run_id", "task_id"),
        )
    },
    _TI + "/logs/{try_number}": {
        # One page and a continuation_token (token: the next page); the rest of the log
        # streamed with full_content=true, or as NDJSON or text by the Accept header.
        "get": _with_streamed_forms(
            _op(
                "get_log",
                "TaskInstance",
                "TaskInstancesLogResponse",
                params=[
                    *_path("dag_id", "dag_run_id", "task_id", "try_number"),
                    _param("full_content", "query", {"type": "boolean", "default": False}),
                    _param("map_index", "query", {"type": "integer", "minimum": -1, "default": -1}),
                    _param("token", "query", {"type": "string"}),
                ],
                errors=(400, 401, 403, 404, 422),
            )
        )
    },
    _TI + "/xcomEntries": {
        "get": _op(
            "get_xcom_entries",
            "XCom",
            "XComCollectionResponse",
            params=_path("dag_id", "dag_run_id", "task_id"),
        )
    },
    _TI + "/xcomEntries/{xcom_key}": {
        "get": _op(
            "get_xcom_entry",
            "XCom",
            "XComResponseNative",
            params=_path("dag_id", "dag_run_id", "task_id", "xcom_key"),
        )
    },
    _D + "/clearTaskInstances": {
        "post": _op(
            "post_clear_task_instances",
            "TaskInstance",
            "TaskInstanceCollectionResponse",
            params=_path("dag_id"),
            body="ClearTaskInstancesBody",
        )
    },
    "/api/v2/pools": {
        "get": _op(
            "get_pools", "Pool", "PoolCollectionResponse", params=_PAGE, errors=(401, 403, 422)
        ),
        "post": _op(
            "post_pool",
            "Pool",
            "PoolResponse",
            body="PoolBody",
            status=201,
            errors=(401, 403, 409, 422),
        ),
    },
    "/api/v2/pools/{pool_name}": {
        "get": _op("get_pool", "Pool", "PoolResponse", params=_path("pool_name")),
        "patch": _op(
            "patch_pool",
            "Pool",
            "PoolResponse",
            params=_path("pool_name"),
            body="PoolPatchBody",
            errors=(400, 401, 403, 404, 422),
        ),
        "delete": _op(
            "delete_pool",
            "Pool",
            None,
            status=204,
            params=_path("pool_name"),
            errors=(400, 401, 403, 404, 422),
        ),
    },
    "/api/v2/variables": {
        "get": _op(
            "get_variables",
            "Variable",
            "VariableCollectionResponse",
            params=_PAGE,
            errors=(401, 403, 422),
        ),
        "post": _op(
            "post_variable",
            "Variable",
            "VariableResponse",
            body="VariableBody",
            status=201,
            errors=(401, 403, 409, 422),
        ),
    },
    "/api/v2/variables/{variable_key}": {
        "get": _op("get_variable", "Variable", "VariableResponse", params=_path("variable_key")),
        "patch": _op(
            "patch_variable",
            "Variable",
            "VariableResponse",
            params=_path("variable_key"),
            body="VariableBody",
            errors=(400, 401, 403, 404, 422),
        ),
        "delete": _op(
            "delete_variable", "Variable", None, status=204, params=_path("variable_key")
        ),
    },
    "/api/v2/backfills": {
        "get": _op(
            "list_backfills",
            "Backfill",
            "BackfillCollectionResponse",
            params=[*_PAGE, _param("dag_id", "query", {"type": "string"})],
            errors=(401, 403, 422),
        ),
        "post": _op("create_backfill", "Backfill", "BackfillResponse", body="BackfillPostBody"),
    },
    "/api/v2/backfills/dry_run": {
        "post": _op(
            "create_backfill_dry_run",
            "Backfill",
            "DryRunBackfillCollectionResponse",
            body="BackfillPostBody",
        ),
    },
    "/api/v2/backfills/{backfill_id}": {
        "get": _op(
            "get_backfill",
            "Backfill",
            "BackfillResponse",
            params=[_param("backfill_id", "path", {"type": "integer", "minimum": 0})],
        ),
    },
    **{
        f"/api/v2/backfills/{{backfill_id}}/{action}": {
            "put": _op(
                f"{action}_backfill",
                "Backfill",
                "BackfillResponse",
                params=[_param("backfill_id", "path", {"type": "integer", "minimum": 0})],
                errors=(401, 403, 404, 409, 422),
            ),
        }
        for action in ("pause", "unpause", "cancel")
    },
    "/metrics": {
        "get": {
            "operationId": "get_metrics",
            "tags": ["Monitor"],
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "401": {
                    "description": "Unauthorized",
                    "content": {"application/json": {"schema": _type("HTTPExceptionResponse")}},
                },
            },
        }
    },
    "/api/v2/importErrors": {
        "get": _op(
            "get_import_errors",
            "ImportError",
            "ImportErrorCollectionResponse",
            params=_PAGE,
            errors=(401, 403, 422),
        )
    },
    "/api/v2/importErrors/{import_error_id}": {
        "get": _op(
            "get_import_error",
            "ImportError",
            "ImportErrorResponse",
            params=_path("import_error_id"),
        )
    },
    "/api/v2/workers": {
        "get": _op("get_workers", "Worker", "WorkerCollectionResponse", errors=(401, 403))
    },
    "/api/v2/queues": {
        "get": _op("get_queues", "Worker", "QueueCollectionResponse", errors=(401, 403))
    },
}


def documented_methods(path: str) -> set[str] | None:
    """The methods the document lists for ``path`` (its most literal matching template, as
    ``.../taskInstances/list`` over ``.../taskInstances/{task_id}``); None if undocumented."""
    best: tuple[int, str] | None = None
    for template in PATHS:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            literal = len(re.sub(r"\{[^/]+?\}", "", template))
            if best is None or literal > best[0]:
                best = (literal, template)
    if best is None:
        return None
    methods = {method.upper() for method in PATHS[best[1]]}
    return methods | ({"HEAD"} if "GET" in methods else set())


def document(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Airlane API",
            "version": version,
            "description": "Airflow 3's public API (/api/v2) for the resources Airlane shares "
            "with it, and run events over Server-Sent Events at /api/v2/events.",
        },
        "security": [{"HTTPBearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def get_document(request: web.Request) -> web.Response:
    return json_response(document(__version__))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/openapi.json", get_document)
