"""What every resource shares: the error schemas and the paging parameters."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.notation import Paths, Schema, model, nullable, param

SCHEMAS: dict[str, Schema] = {
    "HTTPExceptionResponse": model({"detail": "any"}),
    "ValidationError": model({"loc": "[any]", "msg": "str", "type": "str"}),
    "HTTPValidationError": model({"detail": "[ValidationError]"}),
}
PATHS: Paths = {}

#: ``limit`` and ``offset`` of a list's page
PAGE = [
    param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 1000, "default": 50}),
    param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}),
]

#: Airflow's limit on team names (pools and variables)
TEAM_NAME = nullable({"type": "string", "maxLength": 50})


def order_by(*fields: str, default: str | None = None) -> dict[str, Any]:
    """``order_by``: the fields a list sorts by, each also descending (``-field``)."""
    schema: dict[str, Any] = {"type": "string", "enum": [*fields, *(f"-{f}" for f in fields)]}
    if default:
        schema["default"] = default
    return param("order_by", "query", schema)
