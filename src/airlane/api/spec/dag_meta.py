"""DAG tags, warnings, run statistics and versions (handlers: :mod:`airlane.api.dag_meta`,
:mod:`airlane.api.dag_versions`)."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.common import PAGE, searches
from airlane.api.spec.notation import (
    Paths,
    Schema,
    collection,
    model,
    nullable,
    op,
    param,
    path_params,
    query_list,
)


def _order_by(*fields: str) -> dict[str, Any]:
    """Airflow's multi-field ``order_by`` (repeated; ``-field`` descending)."""
    names = [*fields, *(f"-{f}" for f in fields)]
    return param("order_by", "query", {"type": "array", "items": {"type": "string", "enum": names}})


SCHEMAS: dict[str, Schema] = {
    "DAGTagCollectionResponse": model({"tags": "[str]", "total_entries": "int"}),
    "DagWarningType": {
        "type": "string",
        "enum": ["asset conflict", "non-existent pool", "runtime varying value"],
    },
    "DAGWarningResponse": model(
        {
            "dag_id": "str",
            "warning_type": "DagWarningType",
            "message": "str",
            "timestamp": "dt",
            "dag_display_name": "str",
        }
    ),
    "DAGWarningCollectionResponse": collection("dag_warnings", "DAGWarningResponse"),
    "DagStatsStateResponse": model({"state": "DagRunState", "count": "int"}),
    "DagStatsResponse": model(
        {"dag_id": "str", "dag_display_name": "str", "stats": "[DagStatsStateResponse]"}
    ),
    "DagStatsCollectionResponse": collection("dags", "DagStatsResponse"),
    "DagVersionResponse": model(
        {
            "id": "uuid",
            "version_number": "int",
            "dag_id": "str",
            "bundle_name": "str?",
            "bundle_version": "str?",
            "created_at": "dt",
            "dag_display_name": "str",
            "bundle_url": "str?",
        }
    ),
    "DAGVersionCollectionResponse": collection("dag_versions", "DagVersionResponse"),
}
# Airflow lists the nullable fields as required too
SCHEMAS["DagVersionResponse"]["required"] = list(SCHEMAS["DagVersionResponse"]["properties"])

_VERSIONS = "/api/v2/dags/{dag_id}/dagVersions"

PATHS: Paths = {
    "/api/v2/dagTags": {
        "get": op(
            "get_dag_tags",
            "DAG",
            "DAGTagCollectionResponse",
            params=[
                *PAGE,
                _order_by("name"),
                *searches("tag_name"),
            ],
            errors=(401, 403, 422),
        )
    },
    "/api/v2/dagWarnings": {
        "get": op(
            "list_dag_warnings",
            "DagWarning",
            "DAGWarningCollectionResponse",
            params=[
                param("dag_id", "query", nullable({"type": "string"})),
                param("warning_type", "query", {"$ref": "#/components/schemas/DagWarningType"}),
                *PAGE,
                _order_by("dag_id", "warning_type", "message", "timestamp"),
            ],
            errors=(401, 403, 422),
        )
    },
    "/api/v2/dagStats": {
        "get": op(
            "get_dag_stats",
            "DagStats",
            "DagStatsCollectionResponse",
            params=[query_list("dag_ids")],
            errors=(401, 403, 422),
        )
    },
    _VERSIONS: {
        "get": op(
            "get_dag_versions",
            "DagVersion",
            "DAGVersionCollectionResponse",
            params=[
                *path_params("dag_id"),
                *PAGE,
                param("version_number", "query", {"type": "integer"}),
                param("bundle_name", "query", {"type": "string"}),
                param("bundle_version", "query", nullable({"type": "string"})),
                _order_by("id", "version_number", "bundle_name", "bundle_version"),
            ],
        )
    },
    _VERSIONS + "/{version_number}": {
        "get": op(
            "get_dag_version",
            "DagVersion",
            "DagVersionResponse",
            params=[*path_params("dag_id"), param("version_number", "path", {"type": "integer"})],
        )
    },
}
