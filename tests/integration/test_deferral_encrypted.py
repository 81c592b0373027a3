"""With a Fernet key, a deferred try's trigger kwargs are encrypted at rest (Airflow 3's
``Trigger.encrypted_kwargs``): not readable in the ``triggers`` hash nor in the completions,
and the triggerer still builds the trigger from them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def cluster(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dags"
    shutil.copytree(TEST_DAGS / "deferral", folder)
    nodes = Cluster(
        clean_redis.url,
        folder,
        tmp_path,
        AIRLANE_TRIGGERER_POLL_S="0.05",
        AIRLANE_FERNET_KEY=Fernet.generate_key().decode(),
    )
    yield nodes
    nodes.stop_all()


def test_trigger_kwargs_are_encrypted_at_rest(cluster: Cluster) -> None:
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker", "--concurrency", "2", "--grace", "1")
    cluster.start("triggerer0", "triggerer")
    cluster.wait_for_dags("defer_forever")
    run_id = cluster.trigger("defer_forever")
    marker = f"{cluster.markers / run_id}.forever.1"
    wait_until(Path(f"{marker}.started").exists, 30, "the trigger to run from its kwargs")
    client = cluster.redis()
    stored = [orjson.loads(raw) for raw in client.hvals(cluster.keys.triggers)]
    completions = str(client.xrange(cluster.keys.completions))
    client.close()
    assert [t["c"] for t in stored] == ["deferral_triggers.ForeverTrigger"]
    assert stored[0]["k"].startswith("gAAAA")  # a Fernet token
    assert marker not in stored[0]["k"]
    assert marker not in completions
