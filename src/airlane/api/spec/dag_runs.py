"""DAG runs: list, trigger, read, mark, delete and clear (handlers: :mod:`airlane.api.dag_runs`)."""

from __future__ import annotations

from typing import Any

from airlane.api import run_filters
from airlane.api.spec.bulk import bulk_op
from airlane.api.spec.common import PAGE, cursor_collection, order_by_list, ranges, searches
from airlane.api.spec.notation import (
    TYPES,
    Paths,
    Schema,
    model,
    nullable,
    op,
    param,
    path_params,
    query_list,
    refine,
)
from airlane.sdk.timetable_base import DagRunType

_RUN = {
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
_TRIGGER = {
    "dag_run_id": "str?",
    "logical_date": "dt?",
    "data_interval_start": "dt?",
    "data_interval_end": "dt?",
    "run_after": "dt?",
    "conf": "obj?",
    "note": "str?",
    "partition_key": "str?",
}
_CLEAR = {
    "dry_run": "bool?",
    "only_failed": "bool?",
    "only_new": "bool?",
    "note": "str?",
    "run_on_latest_version": "bool?",
}

_CLEAR_SETS_NOTHING = {
    "type": "null",
    "x-refused": "a clear does not set a run's state or note: mark the run (PATCH) for it",
}

SCHEMAS: dict[str, Schema] = {
    "DagRunState": {"type": "string", "enum": ["queued", "running", "success", "failed"]},
    "DagRunType": {"type": "string", "enum": [kind.value for kind in DagRunType]},
    "DAGRunResponse": model(_RUN),
    "DAGRunCollectionResponse": cursor_collection("dag_runs", "DAGRunResponse"),
    "TriggerDAGRunPostBody": model(_TRIGGER, closed=True),
    # Airflow's DAGRunsBatchBody
    "DAGRunsBatchBody": refine(
        model(
            {
                "order_by": "str?",
                "page_offset": "int?",
                "page_limit": "int?",
                "dag_ids": "[str]?",
                "states": "[any]?",
                "conf_contains": "str?",
                **{
                    f"{name}_{bound}": "num?" if name == "duration" else "dt?"
                    for name in run_filters.BATCH_RANGES
                    for bound in ("gte", "gt", "lte", "lt")
                },
            },
            closed=True,
        ),
        page_offset={"type": "integer", "minimum": 0},
        page_limit={"type": "integer", "minimum": 0},
        states=nullable(
            {
                "type": "array",
                "items": nullable(
                    {"type": "string", "enum": ["queued", "running", "success", "failed"]}
                ),
            }
        ),
    ),
    # the materialize endpoint's (optional) body: the trigger's fields
    "MaterializeAssetBody": model(_TRIGGER, closed=True),
    # Airflow's DAGRunPatchStates: a run is set to one of these three only
    "DAGRunPatchBody": refine(
        model({"state": "DagRunState?", "note": "str?"}, closed=True),
        state=nullable({"type": "string", "enum": ["queued", "success", "failed"]}),
    ),
    "DAGRunClearBody": model(_CLEAR, closed=True),
    # clearDagRuns: the runs to clear (Airflow's BulkDAGRunBody; a clear sets no state or
    # note of its own, so those are refused unless null)
    "BulkDAGRunClearBody": model(
        {
            **_CLEAR,
            "dag_runs": "[DAGRunClearEntry]?",
            "partition_key": "str?",
            "partition_date_start": "dt?",
            "partition_date_end": "dt?",
        },
        closed=True,
    ),
    # clearPartitions: runs chosen by id, partition key or partition date window
    "ClearPartitionsBody": model(
        {
            "run_id": "str?",
            "partition_key": "str?",
            "partition_date_start": "dt?",
            "partition_date_end": "dt?",
            "clear_task_instances": "bool?",
            "dry_run": "bool?",
        },
        closed=True,
    ),
    "ClearPartitionsResponse": model(
        {"dag_runs_cleared": "int", "task_instances_cleared": "int", "dry_run": "bool"}
    ),
    # the bulk PATCH's entity: a run's state and note (DagRunMutableStates)
    "BulkDAGRunBody": refine(
        model(
            {"dag_run_id": "str", "dag_id": "str?", "state": "str?", "note": "str?"}, closed=True
        ),
        state=nullable({"type": "string", "enum": ["queued", "success", "failed"]}),
        note=nullable({"type": "string", "maxLength": 1000}),
    ),
    "DAGRunClearEntry": refine(
        model(
            {"dag_run_id": "str", "dag_id": "str?", "state": "any?", "note": "any?"}, closed=True
        ),
        state=_CLEAR_SETS_NOTHING,
        note=_CLEAR_SETS_NOTHING,
    ),
}

_RUNS = "/api/v2/dags/{dag_id}/dagRuns"
_RUN_PATH = _RUNS + "/{dag_run_id}"
_IDS = ("dag_id", "dag_run_id")


def _ndjson(operation: dict[str, Any]) -> dict[str, Any]:
    """``operation`` answering newline-delimited JSON (a stream of lines) instead of JSON."""
    ok = operation["responses"]["200"]
    ok["content"] = {"application/x-ndjson": {"schema": {"type": "string"}}}
    return operation


PATHS: Paths = {
    _RUNS: {
        "get": op(
            "get_dag_runs",
            "DagRun",
            "DAGRunCollectionResponse",
            params=[
                *path_params("dag_id"),
                *PAGE,
                param("cursor", "query", TYPES["str"]),
                query_list("state"),
                query_list("run_type"),
                *ranges(*run_filters.DATES),
                *ranges("duration", kind="number"),
                param("partition_date_gte", "query", {"type": "string", "format": "date"}),
                param("partition_date_lte", "query", {"type": "string", "format": "date"}),
                param("conf_contains", "query", TYPES["str"]),
                param("dag_version", "query", {"type": "array", "items": TYPES["int"]}),
                param("bundle_version", "query", TYPES["str"]),
                *searches(*run_filters.SEARCHES),
                param("consuming_asset_pattern", "query", TYPES["str"]),
                order_by_list(*run_filters.ORDER_FIELDS),
            ],
            errors=(400, 401, 403, 404, 422),
        ),
        "post": op(
            "trigger_dag_run",
            "DagRun",
            "DAGRunResponse",
            params=path_params("dag_id"),
            body="TriggerDAGRunPostBody",
            errors=(400, 401, 403, 404, 409, 422),
        ),
        "patch": bulk_op("DagRun", "bulk_dag_runs", path_params("dag_id")),
    },
    _RUNS + "/list": {
        "post": op(
            "get_list_dag_runs_batch",
            "DagRun",
            "DAGRunCollectionResponse",
            params=[param("dag_id", "path", {"type": "string", "enum": ["~"]}, required=True)],
            body="DAGRunsBatchBody",
            errors=(400, 401, 403, 404, 422),
        )
    },
    _RUN_PATH: {
        "get": op("get_dag_run", "DagRun", "DAGRunResponse", params=path_params(*_IDS)),
        "patch": op(
            "patch_dag_run",
            "DagRun",
            "DAGRunResponse",
            params=[*path_params(*_IDS), query_list("update_mask")],
            body="DAGRunPatchBody",
        ),
        "delete": op(
            "delete_dag_run",
            "DagRun",
            None,
            status=204,
            params=path_params(*_IDS),
            errors=(401, 403, 404, 409, 422),
        ),
    },
    _RUN_PATH + "/clear": {
        "post": op(
            "clear_dag_run", "DagRun", "any", params=path_params(*_IDS), body="DAGRunClearBody"
        )
    },
    "/api/v2/dags/{dag_id}/clearPartitions": {
        "post": op(
            "clear_dag_run_partitions",
            "DagRun",
            "ClearPartitionsResponse",
            params=path_params("dag_id"),
            body="ClearPartitionsBody",
            errors=(400, 401, 403, 404, 422),
        )
    },
    "/api/v2/dags/{dag_id}/clearDagRuns": {
        "post": op(
            "clear_dag_runs",
            "DagRun",
            "any",
            params=path_params("dag_id"),
            body="BulkDAGRunClearBody",
            errors=(400, 401, 403, 404, 422),
        )
    },
    # Airflow 3.1's experimental wait: the run's state as NDJSON lines until it ends, then its
    # results (the ``result`` tasks' return values, else its DAG's ``@result`` tasks')
    _RUN_PATH + "/wait": {
        "get": _ndjson(
            op(
                "wait_dag_run_until_finished",
                "experimental",
                "str",
                params=[
                    *path_params(*_IDS),
                    param("interval", "query", {"type": "number", "exclusiveMinimum": 0}, True),
                    param("result", "query", {"type": "array", "items": {"type": "string"}}),
                ],
            )
        )
    },
}
