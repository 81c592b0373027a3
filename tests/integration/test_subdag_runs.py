"""SubDagOperator on real processes: the sub-DAG is registered as a DAG of its own, its run is
created in Redis at the parent's logical date and run by the coordinator and the workers like
any other, and the operator's task ends with it; the sub-DAG is never scheduled alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(120)

DAG_FILE = """
import datetime as dt
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.subdag import SubDagOperator

START = dt.datetime(2024, 1, 1)


def section(parent, child, command):
    sub = DAG(f"{parent}.{child}", start_date=START, schedule="@daily", catchup=True)
    BashOperator(task_id="work", bash_command=command, dag=sub)
    return sub


with DAG("subdag_parent", start_date=START, schedule=None) as dag:
    ok = SubDagOperator(task_id="ok", subdag=section("subdag_parent", "ok", "echo fine"),
                        poke_interval=30)
    bad = SubDagOperator(task_id="bad", subdag=section("subdag_parent", "bad", "exit 3"),
                         poke_interval=30)
    ok >> bad >> EmptyOperator(task_id="end")
"""


@pytest.fixture
def nodes(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "subdags.py").write_text(DAG_FILE)
    cluster = Cluster(clean_redis.url, tmp_path / "dags", tmp_path)
    cluster.start_all(workers=1)
    yield cluster
    cluster.stop_all()


def test_the_sub_run_is_run_by_the_service_and_ends_the_operator(nodes: Cluster) -> None:
    nodes.wait_for_dags("subdag_parent", "subdag_parent.ok", "subdag_parent.bad")
    logical_date = "2025-01-01T00:00:00+00:00"
    run_id = nodes.trigger("subdag_parent", logical_date=logical_date)
    summary = nodes.wait_run("subdag_parent", run_id, timeout_s=60)
    assert summary["state"] == "failed"
    states = {task: info["state"] for task, info in summary["tasks"].items()}
    assert states == {"ok": "success", "bad": "failed", "end": "upstream_failed"}
    sub_run = f"scheduled__{logical_date}"
    assert nodes.run_state("subdag_parent.ok", sub_run) == "success"
    assert nodes.run_state("subdag_parent.bad", sub_run) == "failed"
    # @daily with catchup, yet the scheduler never made a run of its own for a sub-DAG
    for dag_id in ("subdag_parent.ok", "subdag_parent.bad"):
        assert nodes.call(lambda store, d=dag_id: store.all_run_ids(d)) == [sub_run]
