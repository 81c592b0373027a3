"""Connections (handlers: :mod:`airlane.api.connections`), as Airflow 3.1.8 describes them."""

from __future__ import annotations

from airlane.api.spec.bulk import bulk_op
from airlane.api.spec.common import PAGE, TEAM_NAME, searches
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
)

_FIELDS = {
    "conn_type": "str",
    "description": "str?",
    "host": "str?",
    "login": "str?",
    "schema": "str?",
    "port": "int?",
    "password": "str?",
    "extra": "str?",
}

_ORDER_FIELDS = ("conn_id", "conn_type", "description", "host", "port", "id", "connection_id")

_IN_THE_API = {
    "type": "null",
    "x-refused": "Airlane tests connections in its API server: no executor or queue to pick",
}

SCHEMAS: dict[str, Schema] = {
    # password is always ``***`` (or null) here; extra has its sensitive values as ``***``
    "ConnectionResponse": model({"connection_id": "str", **_FIELDS}),
    "ConnectionCollectionResponse": collection("connections", "ConnectionResponse"),
    "ConnectionTestResponse": model({"status": "bool", "message": "str"}),
    "ConnectionBody": refine(
        model({"connection_id": "str", **_FIELDS, "team_name": "str?"}, closed=True),
        connection_id={"type": "string", "maxLength": 200, "pattern": r"^[\w.-]+$"},
        team_name=TEAM_NAME,
        # Airlane keeps a port as a 64-bit integer (its JSON)
        port=nullable({"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}),
    ),
    # the queued test's body: a connection, whether to save it when it passes; Airlane runs
    # the test in its API server, so no executor or queue is taken
    "ConnectionTestRequestBody": refine(
        model(
            {
                "connection_id": "str",
                **_FIELDS,
                "team_name": "str?",
                "commit_on_success": "bool?",
                "executor": "any?",
                "queue": "any?",
            },
            closed=True,
        ),
        connection_id={"type": "string", "maxLength": 200, "pattern": r"^[\w.-]+$"},
        team_name=TEAM_NAME,
        port=nullable({"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}),
        executor=_IN_THE_API,
        queue=_IN_THE_API,
    ),
    "ConnectionTestQueuedResponse": model({"token": "str", "connection_id": "str", "state": "str"}),
    "AsyncConnectionTestResponse": model(
        {
            "token": "str",
            "connection_id": "str",
            "state": "str",
            "result_message": "str?",
            "created_at": "dt",
        }
    ),
}
# the response lists every field (null when unset), as Airflow's
SCHEMAS["ConnectionResponse"]["required"] = ["connection_id", *_FIELDS]

_ID = path_params("connection_id")
_ORDER_BY = param(
    "order_by",
    "query",
    {
        "type": "array",
        "items": {"type": "string", "enum": [*_ORDER_FIELDS, *(f"-{f}" for f in _ORDER_FIELDS)]},
    },
)
_PATTERN = searches("connection_id")

PATHS: Paths = {
    "/api/v2/connections": {
        "get": op(
            "get_connections",
            "Connection",
            "ConnectionCollectionResponse",
            params=[*PAGE, _ORDER_BY, *_PATTERN],
            errors=(400, 401, 403, 422),
        ),
        "post": op(
            "post_connection",
            "Connection",
            "ConnectionResponse",
            body="ConnectionBody",
            status=201,
            errors=(401, 403, 409, 422),
        ),
        "patch": bulk_op("Connection"),
    },
    # Airlane's default connections (api/bulk_resources.py), each added only if missing
    "/api/v2/connections/defaults": {
        "post": op("create_default_connections", "Connection", None, status=204, errors=(401, 403)),
    },
    "/api/v2/connections/test": {
        "post": op(
            "test_connection",
            "Connection",
            "ConnectionTestResponse",
            body="ConnectionBody",
            errors=(401, 403, 422),
        ),
    },
    "/api/v2/connections/enqueue-test": {
        "post": op(
            "enqueue_connection_test",
            "Connection",
            "ConnectionTestQueuedResponse",
            body="ConnectionTestRequestBody",
            status=202,
            errors=(401, 403, 409, 422),
        ),
        "get": op(
            "get_connection_test",
            "Connection",
            "AsyncConnectionTestResponse",
            params=[param("Airflow-Connection-Test-Token", "header", TYPES["str"], required=True)],
        ),
    },
    "/api/v2/connections/{connection_id}": {
        "get": op("get_connection", "Connection", "ConnectionResponse", params=_ID),
        "patch": op(
            "patch_connection",
            "Connection",
            "ConnectionResponse",
            params=[*_ID, query_list("update_mask")],
            body="ConnectionBody",
            errors=(400, 401, 403, 404, 422),
        ),
        "delete": op("delete_connection", "Connection", None, status=204, params=_ID),
    },
}
