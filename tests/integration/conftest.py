"""A real redis-server for the session, flushed for each test that asks for it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BEHAVIOUR_DAGS, EXAMPLE_DAGS, TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> RedisServer:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    return redis_server


def build_dags_folder(target: Path) -> Path:
    """Behaviour, scale and fault DAGs plus the seed example, in one folder."""
    shutil.copytree(BEHAVIOUR_DAGS, target / "behaviour")
    shutil.copytree(TEST_DAGS / "scale", target / "scale")
    shutil.copytree(TEST_DAGS / "faults", target / "faults")
    shutil.copy(EXAMPLE_DAGS / "simple_airflow_dag.py", target / "simple_airflow_dag.py")
    return target


@pytest.fixture
def cluster(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    """Service processes that a test starts itself (fault tests kill them)."""
    folder = build_dags_folder(tmp_path / "dags")
    nodes = Cluster(clean_redis.url, folder, tmp_path)
    yield nodes
    nodes.stop_all()
