"""Prometheus metrics (handler: :mod:`airlane.api.metrics`)."""

from __future__ import annotations

from airlane.api.spec.notation import Paths, Schema, type_schema

SCHEMAS: dict[str, Schema] = {}

PATHS: Paths = {
    "/metrics": {
        "get": {
            "operationId": "get_metrics",
            "tags": ["Monitor"],
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "401": {
                    "description": "Unauthorized",
                    "content": {
                        "application/json": {"schema": type_schema("HTTPExceptionResponse")}
                    },
                },
            },
        }
    },
}
