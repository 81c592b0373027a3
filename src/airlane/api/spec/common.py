"""What every resource shares: the error schemas and the paging parameters."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.notation import Paths, Schema, model, param

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

#: team_name (pools, variables, connections): Airlane has no teams, so only null is taken; a
#: name is refused (422), as Airflow 3.3 refuses one while its multi_team mode is off
TEAM_NAME = {
    "type": "null",
    "description": "Airlane has no teams: a team name is refused, as by Airflow's default "
    "(multi_team off)",
    "x-refused": "team_name cannot be set when multi_team mode is disabled. Please contact "
    "your administrator.",
}


def cursor_collection(field: str, item: str) -> Schema:
    """A page of a list that also pages by cursor (Airflow 3.3): the items, ``total_entries``
    (capped at ``total_entries_limit`` for a cursor page) and the cursors."""
    return model(
        {
            field: f"[{item}]",
            "total_entries": "int?",
            "total_entries_limit": "int?",
            "next_cursor": "str?",
            "previous_cursor": "str?",
        }
    )


def order_by_list(*fields: str) -> dict[str, Any]:
    """A repeatable ``order_by``: the fields a list sorts by, each also descending."""
    names = [*fields, *(f"-{f}" for f in fields)]
    return param("order_by", "query", {"type": "array", "items": {"type": "string", "enum": names}})


def searches(*names: str) -> list[dict[str, Any]]:
    """``<name>_pattern`` and ``<name>_prefix_pattern`` of each name."""
    return [
        param(f"{name}{kind}", "query", {"type": "string"})
        for name in names
        for kind in ("_pattern", "_prefix_pattern")
    ]


def ranges(*names: str, kind: str = "date-time") -> list[dict[str, Any]]:
    """``_gte``, ``_gt``, ``_lte`` and ``_lt`` bounds of each name (dates, or numbers)."""
    schema = {"type": "number"} if kind == "number" else {"type": "string", "format": kind}
    return [
        param(f"{name}_{bound}", "query", schema)
        for name in names
        for bound in ("gte", "gt", "lte", "lt")
    ]


def order_by(*fields: str, default: str | None = None) -> dict[str, Any]:
    """``order_by``: the fields a list sorts by, each also descending (``-field``)."""
    schema: dict[str, Any] = {"type": "string", "enum": [*fields, *(f"-{f}" for f in fields)]}
    if default:
        schema["default"] = default
    return param("order_by", "query", schema)
