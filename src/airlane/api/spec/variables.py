"""Variables (handlers: :mod:`airlane.api.variables`)."""

from __future__ import annotations

from airlane.api.spec.bulk import bulk_op
from airlane.api.spec.common import PAGE, TEAM_NAME, order_by_list, searches
from airlane.api.spec.notation import (
    Paths,
    Schema,
    collection,
    model,
    op,
    path_params,
    query_list,
    refine,
)

SCHEMAS: dict[str, Schema] = {
    "VariableResponse": model(
        {
            "key": "str",
            "value": "str?",
            "description": "str?",
            "is_encrypted": "bool",
            "team_name": "str?",
        }
    ),
    "VariableCollectionResponse": collection("variables", "VariableResponse"),
    # The body mirrors the request validation: its fields' lengths.
    "VariableBody": refine(
        model(
            {"key": "str", "value": "any", "description": "str?", "team_name": "str?"},
            closed=True,
        ),
        key={"type": "string", "minLength": 1, "maxLength": 250},
        team_name=TEAM_NAME,
    ),
}

_KEY = path_params("variable_key")

PATHS: Paths = {
    "/api/v2/variables": {
        "get": op(
            "get_variables",
            "Variable",
            "VariableCollectionResponse",
            params=[
                *PAGE,
                *searches("variable_key"),
                order_by_list("key", "id", "_val", "description", "is_encrypted", "team_name"),
            ],
            errors=(400, 401, 403, 422),
        ),
        "post": op(
            "post_variable",
            "Variable",
            "VariableResponse",
            body="VariableBody",
            status=201,
            errors=(401, 403, 409, 422),
        ),
        "patch": bulk_op("Variable"),
    },
    "/api/v2/variables/{variable_key}": {
        "get": op("get_variable", "Variable", "VariableResponse", params=_KEY),
        "patch": op(
            "patch_variable",
            "Variable",
            "VariableResponse",
            params=[*_KEY, query_list("update_mask")],
            body="VariableBody",
            errors=(400, 401, 403, 404, 422),
        ),
        "delete": op("delete_variable", "Variable", None, status=204, params=_KEY),
    },
}
