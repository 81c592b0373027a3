"""The http provider's HttpOperator(deferrable=True), unmodified, on real services: the worker
defers, the triggerer makes the request (HttpTrigger, connection from the triggerer's
environment), the task resumes in execute_complete on the worker."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.http_server import HttpServer
from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server() -> Iterator[HttpServer]:
    http = HttpServer()
    http.start()
    yield http
    http.stop()


def test_http_operator_deferrable_runs_its_request_in_the_triggerer(
    clean_redis: RedisServer, tmp_path: Path, server: HttpServer
) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(TEST_DAGS / "providers_http_deferrable", dags)
    nodes = Cluster(
        clean_redis.url,
        dags,
        tmp_path,
        AIRFLOW_CONN_HTTP_DEFAULT=server.url,
        AIRLANE_TRIGGERER_POLL_S="0.05",
    )
    try:
        nodes.start_all(workers=1)
        nodes.start("triggerer", "triggerer")
        nodes.wait_for_dags("http_deferrable")
        run_id = nodes.trigger("http_deferrable")
        summary = nodes.wait_run("http_deferrable", run_id, timeout_s=60)
        assert summary["tasks"]["get_deferred"] == {"state": "success", "try_number": 1}
        assert server.paths("GET") == ["/nested"]
        log = "\n".join(nodes.log_lines("http_deferrable", run_id, "get_deferred", 1))
        assert "Pausing task as DEFERRED" in log
        assert "resumed by its trigger" in log
        assert "Trigger fired event" in nodes.logs("triggerer")
    finally:
        nodes.stop_all()
