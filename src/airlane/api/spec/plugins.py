"""Providers and plugins (handlers: :mod:`airlane.api.providers`, :mod:`airlane.api.plugins`)."""

from __future__ import annotations

from airlane.api.spec.common import PAGE
from airlane.api.spec.notation import Paths, Schema, collection, model, op

SCHEMAS: dict[str, Schema] = {
    "ProviderResponse": model(
        {"package_name": "str", "description": "str", "version": "str", "documentation_url": "str?"}
    ),
    "ProviderCollectionResponse": collection("providers", "ProviderResponse"),
    # Airflow's PluginResponse; Airlane's plugins fill only timetables (the other lists are
    # empty: a plugin that sets one is refused)
    "PluginResponse": model(
        {
            "name": "str",
            "macros": "[str]",
            "flask_blueprints": "[str]",
            "fastapi_apps": "[obj]",
            "fastapi_root_middlewares": "[obj]",
            "external_views": "[obj]",
            "react_apps": "[obj]",
            "appbuilder_views": "[obj]",
            "appbuilder_menu_items": "[obj]",
            "global_operator_extra_links": "[str]",
            "operator_extra_links": "[str]",
            "source": "str",
            "listeners": "[str]",
            "timetables": "[str]",
        }
    ),
    "PluginCollectionResponse": collection("plugins", "PluginResponse"),
    "PluginImportErrorResponse": model({"source": "str", "error": "str"}),
    "PluginImportErrorCollectionResponse": collection("import_errors", "PluginImportErrorResponse"),
}

PATHS: Paths = {
    "/api/v2/providers": {
        "get": op(
            "get_providers",
            "Provider",
            "ProviderCollectionResponse",
            params=PAGE,
            errors=(401, 403, 422),
        )
    },
    "/api/v2/plugins": {
        "get": op(
            "get_plugins", "Plugin", "PluginCollectionResponse", params=PAGE, errors=(401, 403, 422)
        )
    },
    "/api/v2/plugins/importErrors": {
        "get": op(
            "import_errors",
            "Plugin",
            "PluginImportErrorCollectionResponse",
            errors=(401, 403),
        )
    },
}
