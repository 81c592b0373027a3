"""Secrets a trigger reads stay masked: the triggerer masks its log lines and the traceback it
hands to the resumed try, whose process never read the connection (reviewer's probe, issue 17)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(120)

PASSWORD = "Sup3rSecretPw"


@pytest.fixture
def cluster(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dags"
    shutil.copytree(TEST_DAGS / "deferral_secrets", folder)
    nodes = Cluster(
        clean_redis.url,
        folder,
        tmp_path,
        AIRLANE_TRIGGERER_POLL_S="0.05",
        AIRFLOW_CONN_MYDB=f"postgres://app:{PASSWORD}@db.example.com:5432/w",
    )
    yield nodes
    nodes.stop_all()


def _task_log(cluster: Cluster, run_id: str) -> str:
    client = cluster.redis()
    key = cluster.keys.log("defer_secret", run_id, "leaky", -1, 1)
    lines = [fields["line"] for _, fields in client.xrange(key)]
    client.close()
    return "\n".join(lines)


def test_a_failed_triggers_secrets_are_masked(cluster: Cluster) -> None:
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker", "--concurrency", "2", "--grace", "1")
    cluster.start("triggerer0", "triggerer")
    cluster.wait_for_dags("defer_secret")
    run_id = cluster.trigger("defer_secret")
    summary = cluster.wait_run("defer_secret", run_id, timeout_s=30)
    assert summary["tasks"]["leaky"] == {"state": "failed", "try_number": 1}
    task_log = _task_log(cluster, run_id)
    assert "RuntimeError: cannot reach postgres://app:***@db.example.com" in task_log
    assert PASSWORD not in task_log
    triggerer_log = cluster.logs("triggerer0")
    assert "cannot reach postgres://app:***@db.example.com" in triggerer_log
    assert PASSWORD not in triggerer_log
