"""A mapped task group run by a coordinator and two worker processes on a real Redis: the
states real Airflow 3.1.8 reached for the same file, per-index XComs, and the rendered map
index in the API's task-instance shape."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import RedisServer, api_cluster

pytestmark = pytest.mark.timeout(300)

SOURCE = TEST_DAGS / "mapped_groups"


def test_mapped_task_group_with_real_workers(redis_server: RedisServer, tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(SOURCE / "mapped_task_groups.py", folder)
    expected = json.loads((SOURCE / "airflow-3.1.8.json").read_text())
    with api_cluster(redis_server, tmp_path, folder) as api:
        nodes = api.cluster
        nodes.wait_for_dags("mapped_task_groups")
        run_id = nodes.trigger("mapped_task_groups", logical_date=expected["logical_date"])
        summary = nodes.wait_run("mapped_task_groups", run_id, timeout_s=120)
        assert summary["state"] == expected["state"]
        assert {k: v["state"] for k, v in summary["tasks"].items()} == expected["tasks"]
        token = api.token()
        base = f"/api/v2/dags/mapped_task_groups/dagRuns/{run_id}/taskInstances"
        status, ti = api.call("GET", f"{base}/fragile.maybe_fail/1", token=token)
        assert status == 200, ti
        assert (ti["state"], ti["rendered_map_index"]) == ("failed", "item-2")
        for index in range(3):
            status, xcom = api.call(
                "GET",
                f"{base}/process.join/xcomEntries/return_value?map_index={index}",
                token=token,
            )
            assert status == 200, xcom
            assert xcom["value"] == expected["xcom"][f"process.join[{index}]"]
