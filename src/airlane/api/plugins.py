"""``/api/v2/plugins`` and ``/api/v2/plugins/importErrors``: the plugins folder's plugins as
this API process loaded them (:mod:`airlane.dag_loader.plugins`), in Airflow's shapes.

Airlane's plugins carry timetables and priority weight strategies only (a plugin setting any
other attribute is refused, and listed among the import errors): the other lists of Airflow's
PluginResponse are empty.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from airlane.api.errors import json_response
from airlane.api.inputs import page
from airlane.dag_loader import plugins
from airlane.dag_loader.plugins import LoadedPlugin

_EMPTY_LISTS = (
    "macros",
    "flask_blueprints",
    "fastapi_apps",
    "fastapi_root_middlewares",
    "external_views",
    "react_apps",
    "appbuilder_views",
    "appbuilder_menu_items",
    "global_operator_extra_links",
    "operator_extra_links",
    "listeners",
)


def plugin_response(plugin: LoadedPlugin) -> dict[str, Any]:
    response: dict[str, Any] = {"name": plugin.name}
    response.update({name: [] for name in _EMPTY_LISTS})
    response["source"] = plugin.source
    response["timetables"] = list(plugin.timetables)
    return response


async def list_plugins(request: web.Request) -> web.Response:
    limit, offset = page(request)
    loaded = await asyncio.to_thread(plugins.loaded_plugins)
    found = sorted((plugin_response(p) for p in loaded), key=lambda p: str(p["name"]))
    return json_response({"plugins": found[offset : offset + limit], "total_entries": len(found)})


async def list_import_errors(request: web.Request) -> web.Response:
    failures = await asyncio.to_thread(plugins.failures)
    errors = [{"source": path, "error": str(err)} for path, err in failures.items()]
    return json_response({"import_errors": errors, "total_entries": len(errors)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/plugins", list_plugins)
    app.router.add_get("/api/v2/plugins/importErrors", list_import_errors)
