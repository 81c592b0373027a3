"""LatestOnlyOperator on real processes: the scheduler's catch-up runs are not the latest and
skip the work below it; the run of the current schedule period does it (issue 15)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(180)
DAG_ID = "latest_only_catchup"


@pytest.fixture
def nodes(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    shutil.copytree(TEST_DAGS / "latest_only", tmp_path / "dags")
    cluster = Cluster(clean_redis.url, tmp_path / "dags", tmp_path)
    cluster.start_all(workers=1)
    yield cluster
    cluster.stop_all()


def _ended(cluster: Cluster, run_ids: list[str]) -> bool:
    return all(cluster.run_state(DAG_ID, r) in ("success", "failed") for r in run_ids)


def _states(cluster: Cluster, run_id: str) -> dict[str, str]:
    tis = cluster.task_instances(DAG_ID, run_id)
    return {task_id: record.state.value for (task_id, _), (record, _) in tis.items()}


def test_only_the_latest_scheduled_run_runs_the_downstream_work(nodes: Cluster) -> None:
    today = pendulum.today("UTC")
    run_ids = [f"scheduled__{today.subtract(days=n).isoformat()}" for n in (3, 2, 1, 0)]
    wait_until(lambda: _ended(nodes, run_ids), 120, "the four scheduled runs")
    skipped = {
        "latest_only": "success",
        "task1": "skipped",
        "task2": "success",
        "task3": "skipped",
        "task4": "success",
    }
    for run_id in run_ids[:-1]:
        assert _states(nodes, run_id) == skipped, run_id
    assert _states(nodes, run_ids[-1]) == dict.fromkeys(skipped, "success")
    for run_id in run_ids:
        assert nodes.run_state(DAG_ID, run_id) == "success"
