"""Airflow 3.1's experimental ``GET .../dagRuns/{run_id}/wait`` on real processes: the run's
state as NDJSON lines until it ends, then its results: the DAG's ``@result`` task's return
value (Airflow 3.3), or those of the tasks asked for with ``result`` (a mapped task's as a
list in map index order)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster

pytestmark = pytest.mark.timeout(120)

DAG_ID = "wait_results"


@pytest.fixture
def api(redis_server: RedisServer, tmp_path: Path) -> Iterator[Api]:
    with api_cluster(redis_server, tmp_path, TEST_DAGS / "api_wait", workers=1) as found:
        found.cluster.wait_for_dags(DAG_ID)
        yield found


def wait_lines(api: Api, token: str, path: str) -> tuple[int, str, list[dict[str, Any]]]:
    request = urllib.request.Request(api.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
        kind = response.headers["Content-Type"]
        return response.status, kind, [json.loads(line) for line in text.splitlines() if line]


def test_wait_streams_the_state_then_the_results(api: Api) -> None:
    token = api.token()
    run_id = api.cluster.trigger(DAG_ID)
    base = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/wait"
    status, kind, lines = wait_lines(api, token, base + "?interval=0.05")
    assert (status, kind) == (200, "application/x-ndjson")
    assert lines[-1] == {"state": "success", "results": {"total": 42}}
    assert all(set(line) == {"state"} for line in lines[:-1])
    assert {line["state"] for line in lines[:-1]} <= {"queued", "running"}
    # a finished run answers at once; asked-for tasks instead of the DAG's result
    _, _, lines = wait_lines(api, token, base + "?interval=5&result=each&result=other")
    assert lines == [{"state": "success", "results": {"each": [2, 4, 6], "other": {"a": 1}}}]
    _, _, lines = wait_lines(api, token, base + "?interval=5&result=nothing")
    assert lines == [{"state": "success"}]
    assert api.call("GET", base, token=token)[0] == 422  # interval is required
    assert api.call("GET", base + "?interval=0", token=token)[0] == 422
    missing = f"/api/v2/dags/{DAG_ID}/dagRuns/nope/wait?interval=1"
    assert api.call("GET", missing, token=token)[0] == 404
