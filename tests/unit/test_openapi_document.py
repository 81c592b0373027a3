"""The document assembled from the resources' descriptions is the one served before they were
split out of a single module: ``fixtures/openapi_document.json`` was dumped from it then."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from airlane.api import ApiSettings, create_app, openapi
from airlane.api.auth import AuthConfig
from airlane.api.openapi import PATHS, RESOURCES, SCHEMAS, document

SNAPSHOT = Path(__file__).parent / "fixtures" / "openapi_document.json"


def test_the_assembled_document_equals_the_snapshot() -> None:
    served = orjson.loads(orjson.dumps(document("0.0.0-snapshot")))
    snapshot = orjson.loads(SNAPSHOT.read_bytes())
    assert served["paths"].keys() == snapshot["paths"].keys()
    assert served["components"]["schemas"].keys() == snapshot["components"]["schemas"].keys()
    assert served == snapshot


def test_each_path_and_schema_is_described_by_one_resource() -> None:
    assert sum(len(module.PATHS) for module in RESOURCES) == len(PATHS)
    assert sum(len(module.SCHEMAS) for module in RESOURCES) == len(SCHEMAS)


def test_a_name_two_resources_define_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openapi, "RESOURCES", (*RESOURCES, RESOURCES[1]))
    with pytest.raises(ValueError, match="redefines SCHEMAS"):
        openapi._merged("SCHEMAS")


def _served_routes() -> set[tuple[str, str]]:
    """(METHOD, template) of every API route the application registers."""
    app = create_app(ApiSettings("redis://unused"), AuthConfig((), "s" * 32))
    routes = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is not None and route.method != "HEAD":
            routes.add((route.method, resource.canonical))
    return routes


def test_every_api_route_is_documented_and_every_documented_one_served() -> None:
    documented = {(method.upper(), path) for path, ops in PATHS.items() for method in ops}
    served = {
        (method, path)
        for method, path in _served_routes()
        if path.startswith(("/api/", "/auth/", "/metrics"))
    }
    # the stream (Server-Sent Events) and the document itself are not operations in it
    undocumented = {("GET", "/api/v2/events"), ("GET", "/api/v2/openapi.json")}
    assert served - documented == undocumented
    assert documented <= served
