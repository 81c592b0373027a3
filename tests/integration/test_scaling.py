"""Scaling worker replicas on real processes: workers joining and leaving mid-run."""

from __future__ import annotations

import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def scaling(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    shutil.copytree(TEST_DAGS / "scaling", tmp_path / "dags")
    nodes = Cluster(clean_redis.url, tmp_path / "dags", tmp_path)
    nodes.start("dag-processor", "dag-processor")
    nodes.start("coordinator", "coordinator")
    nodes.wait_for_dags("scale_up_fan_out", "scale_down_fan_out", timeout_s=60)
    yield nodes
    nodes.stop_all()


def _workers_of(cluster: Cluster, dag_id: str, run_id: str) -> Counter[str]:
    return Counter(
        str(meta.worker) for (_, (_, meta)) in cluster.task_instances(dag_id, run_id).items()
    )


def test_workers_that_join_mid_run_take_work(scaling: Cluster) -> None:
    scaling.start("worker0", "worker", "--concurrency", "16")
    run_id = scaling.trigger("scale_up_fan_out")
    client = scaling.redis()

    def succeeded() -> int:
        tis = scaling.task_instances("scale_up_fan_out", run_id)
        return sum(1 for record, _ in tis.values() if record.state.value == "success")

    wait_until(lambda: succeeded() >= 50, 60, "the first tasks on one worker")
    joined_at = time.time()
    for i in (1, 2, 3):
        scaling.start(f"worker{i}", "worker", "--concurrency", "16")
    summary = scaling.wait_run("scale_up_fan_out", run_id, timeout_s=240)
    client.close()
    bad = {k: v for k, v in summary["tasks"].items() if v["state"] != "success"}
    assert summary["state"] == "success", (bad, scaling.logs("coordinator")[-3000:])
    by_worker = _workers_of(scaling, "scale_up_fan_out", run_id)
    assert len(by_worker) == 4, by_worker  # all four workers ran tries
    newcomers = [w for w in by_worker if w != max(by_worker, key=by_worker.__getitem__)]
    tis = scaling.task_instances("scale_up_fan_out", run_id)
    first_start = min(
        float(meta.start_date or 0) for (_, meta) in tis.values() if str(meta.worker) in newcomers
    )
    # a new worker process needs about a second to import; then it takes work at once
    assert first_start - joined_at < 10


def test_workers_stopped_mid_run_lose_nothing(scaling: Cluster) -> None:
    for i in range(4):
        scaling.start(f"worker{i}", "worker", "--concurrency", "16", "--grace", "0.1")
    run_id = scaling.trigger("scale_down_fan_out")

    def running() -> int:
        tis = scaling.task_instances("scale_down_fan_out", run_id)
        return sum(1 for record, _ in tis.values() if record.state.value == "running")

    wait_until(lambda: running() >= 20, 60, "tasks running on every worker")
    scaling.signal("worker0", signal.SIGTERM)
    scaling.signal("worker1", signal.SIGTERM)
    summary = scaling.wait_run("scale_down_fan_out", run_id, timeout_s=120)
    bad = {k: v for k, v in summary["tasks"].items() if v["state"] != "success"}
    assert summary["state"] == "success", (bad, scaling.logs("coordinator")[-3000:])
    assert {task["state"] for task in summary["tasks"].values()} == {"success"}
    # handed back tries keep their try number: nothing was counted as a failure
    assert {task["try_number"] for task in summary["tasks"].values()} == {1}
    client = scaling.redis()
    released = [
        fields
        for _, fields in client.xrange(scaling.keys.completions)
        if fields.get("kind") == "released" and fields["run"] == f"scale_down_fan_out|{run_id}"
    ]
    client.close()
    assert released  # the stopped workers handed tries back, which others then ran
