"""Airflow 3.3's state store routes (handlers: :mod:`airlane.api.state_store`)."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.common import PAGE
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

_JSON_VALUE: dict[str, Any] = {}  # any JSON value
#: a value to store: any JSON value but null (Airflow's validator refuses it with a 422)
_STORED_VALUE: dict[str, Any] = {"not": {"type": "null"}}

SCHEMAS: dict[str, Schema] = {
    "TaskStateStoreResponse": refine(
        model({"key": "str", "value": "any", "updated_at": "dt", "expires_at": "dt?"}),
        value=_JSON_VALUE,
    ),
    "TaskStateStoreCollectionResponse": collection("task_state_store", "TaskStateStoreResponse"),
    "TaskStateStoreBody": refine(
        model({"value": "any", "expires_at": "any?"}, closed=True),
        value=_STORED_VALUE,
        expires_at={
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "null"},
                {"type": "string", "const": "default"},
            ],
            "default": "default",
        },
    ),
    "TaskStateStorePatchBody": refine(model({"value": "any"}, closed=True), value=_STORED_VALUE),
    "AssetStateStoreLastUpdatedBy": model(
        {
            "kind": "str",
            "dag_id": "str?",
            "run_id": "str?",
            "task_id": "str?",
            "map_index": "int?",
        }
    ),
    "AssetStateStoreResponse": refine(
        model({"key": "str", "value": "any", "updated_at": "dt", "last_updated_by": "obj?"}),
        value=_JSON_VALUE,
        last_updated_by={
            "anyOf": [
                {"$ref": "#/components/schemas/AssetStateStoreLastUpdatedBy"},
                {"type": "null"},
            ]
        },
    ),
    "AssetStateStoreCollectionResponse": collection("asset_state_store", "AssetStateStoreResponse"),
    "AssetStateStoreBody": refine(model({"value": "any"}, closed=True), value=_STORED_VALUE),
}

_TASK = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/state-store"
_TASK_IDS = path_params("dag_id", "dag_run_id", "task_id")
_MAP_INDEX = param("map_index", "query", {"type": "integer", "minimum": -1, "default": -1})
_KEY = param("key", "path", {"type": "string"})
_ASSET = "/api/v2/assets/{asset_id}/state-store"
_ASSET_ID = param("asset_id", "path", {"type": "integer"})

PATHS: Paths = {
    _TASK: {
        "get": op(
            "list_task_state_store",
            "Task State Store",
            "TaskStateStoreCollectionResponse",
            params=[*_TASK_IDS, _MAP_INDEX, *PAGE],
        ),
        "delete": op(
            "clear_task_state_store",
            "Task State Store",
            None,
            params=[
                *_TASK_IDS,
                _MAP_INDEX,
                param("all_map_indices", "query", {"type": "boolean", "default": False}),
            ],
            status=204,
        ),
    },
    _TASK + "/{key}": {
        "get": op(
            "get_task_state_store",
            "Task State Store",
            "TaskStateStoreResponse",
            params=[*_TASK_IDS, _KEY, _MAP_INDEX],
        ),
        "put": op(
            "set_task_state_store",
            "Task State Store",
            None,
            params=[*_TASK_IDS, _KEY, _MAP_INDEX],
            body="TaskStateStoreBody",
            status=204,
        ),
        "patch": op(
            "patch_task_state_store",
            "Task State Store",
            None,
            params=[*_TASK_IDS, _KEY, _MAP_INDEX],
            body="TaskStateStorePatchBody",
        ),
        "delete": op(
            "delete_task_state_store",
            "Task State Store",
            None,
            params=[*_TASK_IDS, _KEY, _MAP_INDEX],
            status=204,
        ),
    },
    _ASSET: {
        "get": op(
            "list_asset_state_store",
            "Asset State Store",
            "AssetStateStoreCollectionResponse",
            params=[_ASSET_ID, *PAGE],
        ),
        "delete": op(
            "clear_asset_state_store", "Asset State Store", None, params=[_ASSET_ID], status=204
        ),
    },
    _ASSET + "/{key}": {
        "get": op(
            "get_asset_state_store",
            "Asset State Store",
            "AssetStateStoreResponse",
            params=[_ASSET_ID, _KEY],
        ),
        "put": op(
            "set_asset_state_store",
            "Asset State Store",
            None,
            params=[_ASSET_ID, _KEY],
            body="AssetStateStoreBody",
            status=204,
        ),
        "delete": op(
            "delete_asset_state_store",
            "Asset State Store",
            None,
            params=[_ASSET_ID, _KEY],
            status=204,
        ),
    },
}
