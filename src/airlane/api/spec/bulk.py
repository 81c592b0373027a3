"""Airflow 3's bulk bodies and answers, for connections, pools, variables and runs (handlers:
:mod:`airlane.api.bulk`; each resource's module documents its own ``PATCH``)."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.notation import Paths, Schema, model, op, refine, type_schema

_ENTITIES = {
    "Connection": "ConnectionBody",
    "Pool": "PoolBody",
    "Variable": "VariableBody",
    "DagRun": "BulkDAGRunBody",
    "TaskInstance": "BulkTaskInstanceBody",
}


def _action(kind: str, entity: str) -> Schema:
    policy = "action_on_existence" if kind == "create" else "action_on_non_existence"
    fields = {"action": "str", "entities": f"[{entity}]", policy: "str?"}
    if kind == "update":  # newer Airflow's (airflowctl sends it): the fields an update changes
        fields["update_mask"] = "[str]?"
    schema = model(fields, closed=True)
    enum = "BulkActionOnExistence" if kind == "create" else "BulkActionNotOnExistence"
    refinements: dict[str, Schema] = {
        "action": {"type": "string", "const": kind},
        policy: {**type_schema(enum), "default": "fail"},
    }
    if kind == "delete":  # keys, or the entities themselves
        items = {"anyOf": [{"type": "string"}, type_schema(entity)]}
        refinements["entities"] = {"type": "array", "items": items}
    return refine(schema, **refinements)


def _schemas(entity: str) -> dict[str, Schema]:
    name = f"_{entity}_"
    actions = [f"Bulk{kind.title()}Action{name}" for kind in ("create", "update", "delete")]
    body = model({"actions": "[any]"}, closed=True)
    body["properties"]["actions"]["items"] = {"oneOf": [type_schema(a) for a in actions]}
    return {
        f"BulkBody{name}": body,
        **{
            a: _action(kind, entity)
            for a, kind in zip(actions, ("create", "update", "delete"), strict=True)
        },
    }


# both lists are always there in Airlane's answers; Airflow's schema requires neither
_ACTION_RESULT: Schema = {**model({"success": "[str]", "errors": "[obj]"}), "required": []}

SCHEMAS: dict[str, Schema] = {
    "BulkActionOnExistence": {"type": "string", "enum": ["fail", "skip", "overwrite"]},
    "BulkActionNotOnExistence": {"type": "string", "enum": ["fail", "skip"]},
    "BulkActionResponse": _ACTION_RESULT,
    "BulkResponse": model(
        {
            "create": "BulkActionResponse?",
            "update": "BulkActionResponse?",
            "delete": "BulkActionResponse?",
        }
    ),
    **{k: v for entity in _ENTITIES.values() for k, v in _schemas(entity).items()},
}
PATHS: Paths = {}


def bulk_op(
    resource: str, op_id: str | None = None, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The ``PATCH`` of a collection (``resource``: Connection, Pool, Variable or DagRun)."""
    body = f"BulkBody_{_ENTITIES[resource]}_"
    return op(
        op_id or f"bulk_{resource.lower()}s",
        resource,
        "BulkResponse",
        params=params,
        body=body,
        errors=(401, 403, 422),
    )
