"""Service processes for integration tests (the session's redis-server is in tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from tests.conftest import BEHAVIOUR_DAGS, EXAMPLE_DAGS, TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer
from tests.integration.script_checks import CheckedScripts


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


@pytest.fixture
async def client(clean_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of a flushed redis-server (the tests of the Lua scripts; a module
    may define its own, seeded)."""
    found = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    yield found
    await found.aclose()


@pytest.fixture
def scripts(client: aioredis.Redis) -> CheckedScripts:
    """The Lua scripts on ``client``, each call checked for keys it did not declare."""
    return CheckedScripts.on(client, Keys())
