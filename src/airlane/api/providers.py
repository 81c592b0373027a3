"""``/api/v2/providers``: the Airflow provider packages installed beside Airlane (as
``airlane providers list`` finds them: :class:`airlane.sdk.providers_manager.ProvidersManager`),
in Airflow's ProviderResponse shape, by package name.
"""

from __future__ import annotations

import asyncio
import functools
import re
from typing import Any

from aiohttp import web

from airlane.api.errors import json_response
from airlane.api.inputs import page
from airlane.dag_loader import airflow_compat
from airlane.sdk.providers_manager import ProviderInfo, ProvidersManager


def _plain(text: str) -> str:
    """Airflow's ``_remove_rst_syntax``: a description without reST's marks."""
    return re.sub("[`_<>]", "", text.strip(" \n."))


def provider_response(package: str, info: ProviderInfo) -> dict[str, Any]:
    data = info.data
    return {
        "package_name": str(data.get("package-name", package)),
        "description": _plain(str(data.get("description", ""))),
        "version": info.version,
        "documentation_url": data.get("documentation-url"),
    }


@functools.cache
def installed() -> tuple[dict[str, Any], ...]:
    """Read once per process (installing a provider needs a restart, as in Airflow)."""
    airflow_compat.install()  # provider packages import ``airflow`` when asked for their info
    found = [provider_response(p, info) for p, info in ProvidersManager().providers.items()]
    return tuple(sorted(found, key=lambda p: p["package_name"]))


async def list_providers(request: web.Request) -> web.Response:
    limit, offset = page(request)
    found = await asyncio.to_thread(installed)
    return json_response(
        {"providers": list(found[offset : offset + limit]), "total_entries": len(found)}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/providers", list_providers)
