"""Config: the effective settings in Airflow's sections (handlers: :mod:`airlane.api.config`)."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.notation import TYPES, Paths, Schema, model, op, param, path_params

SCHEMAS: dict[str, Schema] = {
    "ConfigOption": model({"key": "str", "value": "str"}, closed=True),
    "ConfigSection": model({"name": "str", "options": "[ConfigOption]"}, closed=True),
    "Config": model({"sections": "[ConfigSection]"}, closed=True),
}

#: Airflow's Accept header of the two operations: JSON, or its text form
_ACCEPT = param(
    "accept",
    "header",
    {"type": "string", "enum": ["application/json", "text/plain", "*/*"], "default": "*/*"},
)


def _config_op(op_id: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    """An operation answering ``Config`` as JSON, or as text for ``Accept: text/plain``."""
    operation = op(op_id, "Config", "Config", params=params, errors=(401, 403, 404, 406, 422))
    content = operation["responses"]["200"]["content"]
    content["text/plain"] = {"schema": TYPES["str"]}
    return operation


PATHS: Paths = {
    # 403 unless AIRLANE_API_EXPOSE_CONFIG (Airflow's [api] expose_config) shows them
    "/api/v2/config": {
        "get": _config_op("get_config", [param("section", "query", {"type": "string"}), _ACCEPT])
    },
    "/api/v2/config/section/{section}/option/{option}": {
        "get": _config_op("get_config_value", [*path_params("section", "option"), _ACCEPT])
    },
}
