"""The OpenAPI 3.1 document of what this API implements, served at ``/api/v2/openapi.json``.

It is assembled from the description of each resource in :mod:`airlane.api.spec` (one module
per resource, beside its handlers): a new endpoint is described in its resource's module, and
a new resource's module is added to ``RESOURCES``.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from aiohttp import web

from airlane import __version__
from airlane.api.errors import json_response
from airlane.api.spec import (
    assets,
    auth,
    backfills,
    bulk,
    common,
    config,
    connections,
    dag_meta,
    dag_runs,
    dags,
    deadlines,
    event_logs,
    hitl,
    jobs,
    metrics,
    monitor,
    plugins,
    pools,
    state_store,
    task_instances,
    task_logs,
    variables,
    workers,
    xcoms,
)
from airlane.api.spec.notation import Paths, Schema

#: the modules describing the resources, each exporting ``SCHEMAS`` and ``PATHS``
RESOURCES: tuple[ModuleType, ...] = (
    common,
    auth,
    monitor,
    dags,
    dag_runs,
    task_instances,
    task_logs,
    xcoms,
    deadlines,
    state_store,
    pools,
    variables,
    connections,
    backfills,
    metrics,
    workers,
    hitl,
    dag_meta,
    bulk,
    jobs,
    event_logs,
    config,
    plugins,
    assets,
)


def _merged(part: str) -> dict[str, Any]:
    """The ``part`` (``SCHEMAS`` or ``PATHS``) of every resource in one mapping; a name two
    resources both define is an error, not a silent override."""
    merged: dict[str, Any] = {}
    for module in RESOURCES:
        entries: dict[str, Any] = getattr(module, part)
        twice = merged.keys() & entries.keys()
        if twice:
            raise ValueError(f"{module.__name__} redefines {part} {sorted(twice)}")
        merged.update(entries)
    return merged


SCHEMAS: dict[str, Schema] = _merged("SCHEMAS")
PATHS: Paths = _merged("PATHS")


def documented_methods(path: str) -> set[str] | None:
    """The methods the document lists for ``path`` (its most literal matching template, as
    ``.../taskInstances/list`` over ``.../taskInstances/{task_id}``); None if undocumented."""
    best: tuple[int, str] | None = None
    for template in PATHS:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            literal = len(re.sub(r"\{[^/]+?\}", "", template))
            if best is None or literal > best[0]:
                best = (literal, template)
    if best is None:
        return None
    methods = {method.upper() for method in PATHS[best[1]]}
    return methods | ({"HEAD"} if "GET" in methods else set())


def document(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Airlane API",
            "version": version,
            "description": "Airflow 3's public API (/api/v2) for the resources Airlane shares "
            "with it, and run events over Server-Sent Events at /api/v2/events.",
        },
        "security": [{"HTTPBearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def get_document(request: web.Request) -> web.Response:
    return json_response(document(__version__))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/openapi.json", get_document)
