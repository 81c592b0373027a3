"""Assets, their events, aliases and queued events (handlers: :mod:`airlane.api.assets`), as
Airflow 3.1's ``Asset`` tag."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.common import PAGE, searches
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
    refine,
)

_REFERENCE = {"dag_id": "str", "created_at": "dt", "updated_at": "dt"}
_TASK_REFERENCE = {"dag_id": "str", "task_id": "str", "created_at": "dt", "updated_at": "dt"}

_NO_TEAMS = "Airlane has no teams: an event reaches every consumer"
SCHEMAS: dict[str, Schema] = {
    "DagScheduleAssetReference": model(_REFERENCE, closed=True),
    "TaskOutletAssetReference": model(_TASK_REFERENCE, closed=True),
    "TaskInletAssetReference": model(_TASK_REFERENCE, closed=True),
    "AssetAliasResponse": model({"id": "int", "name": "str", "group": "str"}),
    "AssetAliasCollectionResponse": collection("asset_aliases", "AssetAliasResponse"),
    "LastAssetEventResponse": refine(
        model({"id": "int?", "timestamp": "dt?"}),
        id=nullable({"type": "integer", "minimum": 0}),
    ),
    # newer Airflow's (3.2), which airflowctl 0.1.5 requires in AssetResponse
    "AssetWatcherResponse": model({"name": "str", "trigger_id": "int", "created_date": "dt"}),
    "AssetResponse": model(
        {
            "id": "int",
            "name": "str",
            "uri": "str",
            "group": "str",
            "extra": "obj?",
            "created_at": "dt",
            "updated_at": "dt",
            "scheduled_dags": "[DagScheduleAssetReference]",
            "producing_tasks": "[TaskOutletAssetReference]",
            "consuming_tasks": "[TaskInletAssetReference]",
            "aliases": "[AssetAliasResponse]",
            "watchers": "[AssetWatcherResponse]",
            "last_asset_event": "LastAssetEventResponse?",
        }
    ),
    "AssetCollectionResponse": collection("assets", "AssetResponse"),
    "DagRunAssetReference": model(
        {
            "run_id": "str",
            "dag_id": "str",
            "logical_date": "dt?",
            "start_date": "dt",
            "end_date": "dt?",
            "state": "str",
            "data_interval_start": "dt?",
            "data_interval_end": "dt?",
        },
        closed=True,
    ),
    "AssetEventResponse": model(
        {
            "id": "int",
            "asset_id": "int",
            "uri": "str?",
            "name": "str?",
            "group": "str?",
            "extra": "obj?",
            "source_task_id": "str?",
            "source_dag_id": "str?",
            "source_run_id": "str?",
            "source_map_index": "int",
            "created_dagruns": "[DagRunAssetReference]",
            "timestamp": "dt",
        }
    ),
    "AssetEventCollectionResponse": collection("asset_events", "AssetEventResponse"),
    # Airflow 3.3's fields; Airlane has no asset partitions and no teams, so a partition key
    # and consumer limits other than everybody's are refused (422), null taken
    "CreateAssetEventsBody": refine(
        model(
            {"asset_id": "int", "extra": "obj?", "partition_key": "str?", "access_control": "obj?"},
            closed=True,
        ),
        extra=dict(TYPES["obj"]),
        partition_key={
            "type": "null",
            "x-refused": "Airlane has no asset partitions: an event cannot carry a partition_key",
        },
        access_control=nullable(
            {
                "type": "object",
                "properties": {
                    "consumer_teams": {
                        "anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}],
                        "x-refused": _NO_TEAMS,
                    },
                    "allow_global": {"const": True, "x-refused": _NO_TEAMS},
                },
                "additionalProperties": False,
            }
        ),
    ),
    "QueuedEventResponse": model(
        {"dag_id": "str", "asset_id": "int", "created_at": "dt", "dag_display_name": "str"}
    ),
    "QueuedEventCollectionResponse": collection("queued_events", "QueuedEventResponse"),
}

#: what each list sorts by (Airflow's), each also descending with "-"
ASSET_ORDER = ("id", "name", "uri", "created_at", "updated_at")
ALIAS_ORDER = ("id", "name")
EVENT_ORDER = ("source_task_id", "source_dag_id", "source_run_id", "source_map_index", "timestamp")

_STR, _INT, _BOOL, _DT = TYPES["str"], TYPES["int"], TYPES["bool"], TYPES["dt"]


def _order(fields: tuple[str, ...], default: str) -> dict[str, Any]:
    item = {"type": "string", "enum": [*fields, *(f"-{f}" for f in fields)]}
    return param("order_by", "query", {"type": "array", "items": item, "default": [default]})


def _int_path(name: str) -> dict[str, Any]:
    return param(name, "path", _INT)


_BEFORE = param("before", "query", _DT)
_ASSET = [_int_path("asset_id")]
_DAG_ASSET = [*path_params("dag_id"), _int_path("asset_id")]
_EVENT_FILTERS = [
    *PAGE,
    _order(EVENT_ORDER, "timestamp"),
    param("asset_id", "query", _INT),
    param("source_dag_id", "query", _STR),
    param("source_task_id", "query", _STR),
    param("source_run_id", "query", _STR),
    param("source_map_index", "query", _INT),
    *(param(f"timestamp_{b}", "query", _DT) for b in ("gte", "gt", "lte", "lt")),
    *searches("name"),
]
_TAG = "Asset"
_DELETE_ERRORS = (400, 401, 403, 404, 422)

PATHS: Paths = {
    "/api/v2/assets": {
        "get": op(
            "get_assets",
            _TAG,
            "AssetCollectionResponse",
            params=[
                *PAGE,
                *searches("name", "uri"),
                param("dag_ids", "query", {"type": "array", "items": _STR}),
                param("only_active", "query", {**_BOOL, "default": True}),
                _order(ASSET_ORDER, "id"),
            ],
        )
    },
    "/api/v2/assets/aliases": {
        "get": op(
            "get_asset_aliases",
            _TAG,
            "AssetAliasCollectionResponse",
            params=[*PAGE, *searches("name"), _order(ALIAS_ORDER, "id")],
        )
    },
    "/api/v2/assets/aliases/{asset_alias_id}": {
        "get": op(
            "get_asset_alias",
            _TAG,
            "AssetAliasResponse",
            params=[_int_path("asset_alias_id")],
        )
    },
    "/api/v2/assets/events": {
        "get": op("get_asset_events", _TAG, "AssetEventCollectionResponse", params=_EVENT_FILTERS),
        "post": op("create_asset_event", _TAG, "AssetEventResponse", body="CreateAssetEventsBody"),
    },
    "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents": {
        "get": op(
            "get_upstream_asset_events",
            "DagRun",
            "AssetEventCollectionResponse",
            params=path_params("dag_id", "dag_run_id"),
        )
    },
    "/api/v2/assets/{asset_id}/materialize": {
        "post": op(
            "materialize_asset",
            _TAG,
            "DAGRunResponse",
            params=_ASSET,
            body="MaterializeAssetBody",
            body_required=False,
            errors=(400, 401, 403, 404, 409, 422),
        )
    },
    "/api/v2/assets/{asset_id}/queuedEvents": {
        "get": op(
            "get_asset_queued_events",
            _TAG,
            "QueuedEventCollectionResponse",
            params=[*_ASSET, _BEFORE],
        ),
        "delete": op(
            "delete_asset_queued_events",
            _TAG,
            None,
            params=[*_ASSET, _BEFORE],
            status=204,
        ),
    },
    "/api/v2/assets/{asset_id}": {"get": op("get_asset", _TAG, "AssetResponse", params=_ASSET)},
    "/api/v2/dags/{dag_id}/assets/queuedEvents": {
        "get": op(
            "get_dag_asset_queued_events",
            _TAG,
            "QueuedEventCollectionResponse",
            params=[*path_params("dag_id"), _BEFORE],
        ),
        "delete": op(
            "delete_dag_asset_queued_events",
            _TAG,
            None,
            params=[*path_params("dag_id"), _BEFORE],
            status=204,
            errors=_DELETE_ERRORS,
        ),
    },
    "/api/v2/dags/{dag_id}/assets/{asset_id}/queuedEvents": {
        "get": op(
            "get_dag_asset_queued_event",
            _TAG,
            "QueuedEventResponse",
            params=[*_DAG_ASSET, _BEFORE],
        ),
        "delete": op(
            "delete_dag_asset_queued_event",
            _TAG,
            None,
            params=[*_DAG_ASSET, _BEFORE],
            status=204,
            errors=_DELETE_ERRORS,
        ),
    },
    # Airlane: the paths airflowctl 0.1.5 sends its three deletes of queued events to (a
    # trailing slash, an ``assets/`` prefix), answered as the ones above
    "/api/v2/assets/{asset_id}/queuedEvents/": {
        "delete": op(
            "delete_asset_queued_events_ctl",
            _TAG,
            None,
            params=[*_ASSET, _BEFORE],
            status=204,
        ),
    },
    "/api/v2/assets/dags/{dag_id}/queuedEvents": {
        "delete": op(
            "delete_dag_asset_queued_events_ctl",
            _TAG,
            None,
            params=[*path_params("dag_id"), _BEFORE],
            status=204,
            errors=_DELETE_ERRORS,
        ),
    },
    "/api/v2/assets/dags/{dag_id}/assets/{asset_id}/queuedEvents/": {
        "delete": op(
            "delete_dag_asset_queued_event_ctl",
            _TAG,
            None,
            params=[*_DAG_ASSET, _BEFORE],
            status=204,
            errors=_DELETE_ERRORS,
        ),
    },
}
