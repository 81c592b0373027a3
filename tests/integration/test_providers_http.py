"""The http provider's DAG on real services: a DAG processor, a coordinator and a worker on a
real Redis, the connection from AIRFLOW_CONN_HTTP_DEFAULT in the worker's environment, a local
aiohttp server as the far end (issue 16). The provider packages were installed by setup."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.http_server import HttpServer
from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def server() -> Iterator[HttpServer]:
    http = HttpServer(not_ready_hits=2)
    http.start()
    yield http
    http.stop()


def test_http_dag_runs_on_the_services(
    clean_redis: RedisServer, tmp_path: Path, server: HttpServer
) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(TEST_DAGS / "providers_http", dags)
    nodes = Cluster(clean_redis.url, dags, tmp_path, AIRFLOW_CONN_HTTP_DEFAULT=server.url)
    try:
        nodes.start_all(workers=1)
        nodes.wait_for_dags("http_example")
        run_id = nodes.trigger("http_example", logical_date="2024-03-04T00:00:00+00:00")
        summary = nodes.wait_run("http_example", run_id, timeout_s=90)
        assert summary["state"] == "success", nodes.describe_run("http_example", run_id)
        assert all(t["state"] == "success" for t in summary["tasks"].values()), summary
        assert len(summary["tasks"]) == 6
        assert server.paths("GET").count("/ready") == 3
        assert server.paths("POST") == ["/post"]
        sensor_log = "\n".join(nodes.log_lines("http_example", run_id, "http_sensor_check", 1))
        assert "Poking: ready" in sensor_log
        check_log = "\n".join(nodes.log_lines("http_example", run_id, "check_responses", 1))
        assert "value 2024-03-04" in check_log
    finally:
        nodes.stop_all()
