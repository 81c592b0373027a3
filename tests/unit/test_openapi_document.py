"""The document assembled from the resources' descriptions is the one served before they were
split out of a single module: ``fixtures/openapi_document.json`` was dumped from it then."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from airlane.api import openapi
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
