"""A try's start date is when it began to execute in its task process (Airflow's start_date is
when its task runner starts), not its claim by a worker, after which it may wait for a process:
on real processes (DAG processor, coordinator, a worker). A try resumed from deferral keeps its
first run's start: tests/integration/test_deferral_ends_here.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(120)

DAG_ID = "start_dates"
SLEEP_S = 0.3
_DAG = f"""
import time

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def nap():
    time.sleep({SLEEP_S})


with DAG({DAG_ID!r}, schedule=None):
    for i in range(3):
        PythonOperator(task_id=f"nap_{{i}}", python_callable=nap)
"""


@pytest.fixture
def cluster(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / f"{DAG_ID}.py").write_text(_DAG)
    nodes = Cluster(clean_redis.url, folder, tmp_path)
    nodes.start("dag-processor", "dag-processor")
    nodes.start("coordinator", "coordinator")
    nodes.start("worker0", "worker", "--concurrency", "1")
    nodes.wait_for_dags(DAG_ID)
    yield nodes
    nodes.stop_all()


def _completions(cluster: Cluster, run_id: str) -> tuple[dict[str, float], dict[str, float]]:
    """Per task: its claim (the ``started`` completion's time) and when it began to execute
    (the ``finished`` completion's outcome)."""
    client = cluster.redis()
    claims: dict[str, float] = {}
    executions: dict[str, float] = {}
    try:
        for _, fields in client.xrange(cluster.keys.completions):
            if not fields.get("run", "").endswith(f"|{run_id}"):
                continue
            task_id = fields["ti"].split("|", 1)[0]
            if fields.get("kind") == "started":
                claims[task_id] = float(fields["at"])
            elif fields.get("kind") == "finished":
                executions[task_id] = float(json.loads(fields["outcome"])["started_at_s"])
    finally:
        client.close()
    return claims, executions


def test_a_try_starts_when_it_begins_to_execute_not_when_it_was_claimed(
    cluster: Cluster,
) -> None:
    # A group of our own that reads nothing: the coordinator's trim of acknowledged completions
    # (every 2 s) keeps what it has not been delivered (queue/trimming.py), so this test reads
    # them all once the run ended (it read a trimmed stream once: a flaky KeyError).
    client = cluster.redis()
    client.xgroup_create(cluster.keys.completions, "start-dates-test", id="0", mkstream=True)
    client.close()
    run_id = cluster.trigger(DAG_ID)
    assert cluster.wait_run(DAG_ID, run_id, timeout_s=60)["state"] == "success"
    claims, executions = _completions(cluster, run_id)
    tis = cluster.task_instances(DAG_ID, run_id)
    for i in range(3):
        task_id = f"nap_{i}"
        meta = tis[(task_id, -1)][1]
        start, end = float(meta.start_date), float(meta.end_date)
        assert start == pytest.approx(executions[task_id], abs=1e-6)
        assert start >= claims[task_id]
        assert end - start >= SLEEP_S
