"""schemathesis against /api/v2/openapi.json: no 5xx, and every response fits the document."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def schema_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, str]]:
    work = tmp_path_factory.mktemp("api-schema")
    shutil.copytree(TEST_DAGS / "api", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=0) as api:
        api.cluster.wait_for_dags("api_flaky", "api_chain")
        token = api.token()
        # A run and a pool and a variable to find, so that not every generated request is a 404.
        api.call("POST", "/api/v2/dags/api_flaky/dagRuns", {"dag_run_id": "known"}, token=token)
        api.call("POST", "/api/v2/pools", {"name": "known", "slots": 2}, token=token)
        api.call("POST", "/api/v2/variables", {"key": "known", "value": "v"}, token=token)
        yield api, token


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_operation_answers_within_its_schema(schema_api: tuple[Api, str]) -> None:
    api, token = schema_api
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{api.url}/api/v2/openapi.json", headers=headers)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as err:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {err}"[:2000])
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
