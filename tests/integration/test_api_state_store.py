"""Airflow 3.3's state store routes on real processes: what the behaviour DAG's tasks stored
(tests/dags/behaviour/state_store.py) read through the API, keys written, patched, deleted and
cleared through it, and the errors Airflow gives (404 for a missing task instance or key, 422
for a null value or an unknown field, 400 never: the default retention is valid)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BEHAVIOUR_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster

pytestmark = pytest.mark.timeout(120)

DAG_ID = "state_store"


@pytest.fixture
def api(redis_server: RedisServer, tmp_path: Path) -> Iterator[Api]:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(BEHAVIOUR_DAGS / "state_store.py", folder)
    with api_cluster(redis_server, tmp_path / "work", folder, workers=1) as found:
        found.cluster.wait_for_dags(DAG_ID)
        yield found


def test_task_and_asset_state_through_the_api(api: Api) -> None:
    run_id = api.cluster.trigger(DAG_ID)
    assert api.cluster.wait_run(DAG_ID, run_id)["state"] == "success"
    token = api.token()
    base = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/run_job/state-store"

    def call(method: str, path: str, body: object = None) -> tuple[int, object]:
        return api.call(method, path, body, token=token)

    status, body = call("GET", base)
    assert status == 200, body
    assert isinstance(body, dict)
    assert [(e["key"], e["value"], e["expires_at"]) for e in body["task_state_store"]] == [
        ("job_id", "job-42", None)
    ]
    assert body["total_entries"] == 1
    # written through the API: never expiring, then expiring at a given time
    assert call("PUT", base + "/nested/key", {"value": {"a": [1, 2]}, "expires_at": None})[0] == 204
    status, body = call("GET", base + "/nested/key")
    assert status == 200, body
    assert isinstance(body, dict)
    assert (body["value"], body["expires_at"]) == ({"a": [1, 2]}, None)
    when = "2099-01-01T00:00:00+00:00"
    assert call("PUT", base + "/job_id", {"value": "job-43", "expires_at": when})[0] == 204
    assert call("PATCH", base + "/job_id", {"value": "job-44"})[0] == 200
    status, body = call("GET", base + "/job_id")
    assert isinstance(body, dict)
    assert (body["value"], body["expires_at"]) == ("job-44", "2099-01-01T00:00:00Z")
    assert call("DELETE", base + "/job_id")[0] == 204
    assert call("GET", base + "/job_id")[0] == 404
    assert call("DELETE", base)[0] == 204
    status, body = call("GET", base)
    assert isinstance(body, dict)
    assert body["total_entries"] == 0
    # Airflow's errors
    missing_ti = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/nope/state-store/k"
    status, body = call("PUT", missing_ti, {"value": 1})
    assert status == 404, body
    assert "Task instance not found" in str(body)
    assert call("PATCH", base + "/absent", {"value": 1})[0] == 404
    status, body = call("PUT", base + "/k", {"value": None})
    assert status == 422, body
    assert isinstance(body, dict)
    assert body["detail"][0]["loc"] == ["body", "value"]
    assert call("PUT", base + "/k", {"value": 1, "other": 2})[0] == 422
    assert call("PUT", base + "/k", {"value": 1, "expires_at": "2099-01-01T00:00:00"})[0] == 422
    # an asset's keys, as the producer left them
    status, body = call("GET", "/api/v2/assets?name_pattern=state_store_orders")
    assert isinstance(body, dict)
    (asset,) = body["assets"]
    asset_base = f"/api/v2/assets/{asset['id']}/state-store"
    status, body = call("GET", asset_base)
    assert status == 200, body
    assert isinstance(body, dict)
    assert [(e["key"], e["value"]) for e in body["asset_state_store"]] == [
        ("total_runs", 1),
        ("watermark", {"rows": 10}),
    ]
    assert call("PUT", asset_base + "/watermark", {"value": {"rows": 20}})[0] == 204
    status, body = call("GET", asset_base + "/watermark")
    assert isinstance(body, dict)
    assert body["value"] == {"rows": 20}
    assert body["last_updated_by"]["kind"] == "api"
    assert call("DELETE", asset_base + "/total_runs")[0] == 204
    assert call("GET", asset_base + "/total_runs")[0] == 404
    assert call("DELETE", asset_base)[0] == 204
    status, body = call("GET", asset_base)
    assert isinstance(body, dict)
    assert body["total_entries"] == 0
    assert call("GET", "/api/v2/assets/999999/state-store")[0] == 404
