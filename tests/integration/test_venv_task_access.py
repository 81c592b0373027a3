"""Code in a virtualenv task reaches the task's Variables and XComs on real workers, as Airflow
3 reconnects a virtualenv's code to its supervisor when Airflow is importable there: here the
venv sees the worker's packages (system_site_packages, the default) and so Airlane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(120)
DAG_ID = "venv_task_access"
DAG_FILE = """
import pendulum

from airflow.sdk import DAG, task

with DAG("venv_task_access", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC")):

    @task
    def first():
        return "one"

    @task.virtualenv
    def in_venv(upstream):
        from airflow.sdk import Variable, get_current_context

        ti = get_current_context()["ti"]
        ti.xcom_push("side", {"from": "venv"})
        Variable.set("written_in_venv", "yes")
        return [Variable.get("greeting"), ti.xcom_pull(task_ids="first"), upstream]

    in_venv(first())
"""


@pytest.fixture
def nodes(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "venv_task_access.py").write_text(DAG_FILE)
    cache = str(tmp_path / "venvs")
    cluster = Cluster(clean_redis.url, folder, tmp_path, AIRLANE_VENV_CACHE_DIR=cache)
    cluster.start_all(workers=1)
    yield cluster
    cluster.stop_all()


def test_venv_code_reads_and_writes_variables_and_xcoms(nodes: Cluster) -> None:
    nodes.wait_for_dags(DAG_ID)
    nodes.call(lambda store: store.set_variable("greeting", "hello", None))
    run_id = nodes.trigger(DAG_ID)
    summary = nodes.wait_run(DAG_ID, run_id, timeout_s=90)
    assert summary["tasks"]["in_venv"]["state"] == "success", nodes.logs("worker0")
    value = nodes.call(lambda store: store.xcom(DAG_ID, run_id, "in_venv", -1, "return_value"))
    assert value == ["hello", "one", "one"]
    side = nodes.call(lambda store: store.xcom(DAG_ID, run_id, "in_venv", -1, "side"))
    assert side == {"from": "venv"}
    assert nodes.call(lambda store: store.variable("written_in_venv"))["value"] == "yes"
