"""The SQL provider DAGs of tests/dags/providers_sql on real services (issue 16): a DAG
processor, a coordinator and a worker against Redis, the connections from the environment
(``AIRFLOW_CONN_<ID>``), PostgreSQL on a throwaway server (tests/postgres_server.py). The
providers' INFO logs are in the tries' stored logs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.e2e.test_providers_sql import sqlite_uri
from tests.integration.cluster import Cluster, RedisServer
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["process", "inline"])
def sql_cluster(
    request: pytest.FixtureRequest,
    clean_redis: RedisServer,
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> Iterator[Cluster]:
    """The services; tries in task processes, or in the worker's own process (whose logging
    the service configured)."""
    shutil.copytree(TEST_DAGS / "providers_sql", tmp_path / "dags")
    nodes = Cluster(
        clean_redis.url,
        tmp_path / "dags",
        tmp_path,
        AIRFLOW_CONN_SQLITE_DEFAULT=sqlite_uri(tmp_path / "visits.db"),
        AIRFLOW_CONN_POSTGRES_DEFAULT=postgres_server.new_database(f"pets_{request.param}"),
        AIRLANE_TASK_ISOLATION=request.param,
    )
    nodes.start("dag-processor", "dag-processor")
    nodes.start("coordinator", "coordinator")
    nodes.start("worker0", "worker", "--concurrency", "4", "--grace", "1")
    yield nodes
    nodes.stop_all()


def test_sql_provider_dags_run_on_the_services(sql_cluster: Cluster) -> None:
    sql_cluster.wait_for_dags("sqlite_query", "postgres_pets")
    sqlite_run = sql_cluster.trigger("sqlite_query", logical_date="2024-03-01T00:00:00+00:00")
    # postgres_pets is scheduled "@once", as the provider's example: its one scheduled run
    postgres_run = "scheduled__2020-02-02T00:00:00+00:00"
    for dag_id, run_id in (("sqlite_query", sqlite_run), ("postgres_pets", postgres_run)):
        summary = sql_cluster.wait_run(dag_id, run_id, timeout_s=120)
        assert summary["state"] == "success", sql_cluster.describe_run(dag_id, run_id)
    templated = sql_cluster.log_lines("sqlite_query", sqlite_run, "insert_templated", 1)
    assert any(
        "INFO - Executing: INSERT INTO visits (ds, n) VALUES ('2024-03-01', 3)" in line
        for line in templated
    ), templated
    checked = sql_cluster.log_lines("sqlite_query", sqlite_run, "check", 1)
    assert any("checked: [('2024-03-01', 3), ('2024-03-01', 5)] [(8,)]" in line for line in checked)
    hook = sql_cluster.log_lines("postgres_pets", postgres_run, "adopt_and_list", 1)
    assert any("INFO - Done loading. Loaded a total of 1 rows into pet" in line for line in hook)
    assert any("pets: ['Max', 'Susie', 'Lester', 'Quincy', 'Rex']" in line for line in hook)
