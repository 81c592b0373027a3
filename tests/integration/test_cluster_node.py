"""The scripts on a redis-server in cluster mode (one node serving every slot): Redis itself
refuses a script call whose KEYS span slots (CROSSSLOT) or that touches a key in another slot."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.queue.keys import WORKER_GROUP, Keys
from airlane.queue.scripts import (
    Apply,
    Batch,
    Claim,
    ClaimMany,
    CreateRun,
    Finish,
    FinishMany,
    Renew,
    Scripts,
)
from tests.integration.cluster import die_with_test, free_port, wait_until
from tests.integration.script_checks import CheckedScripts

KEYS = Keys()


def _cluster_ok(client: redis.Redis) -> bool:
    try:
        info = client.execute_command("CLUSTER INFO")  # parsed by redis-py into a dict
        return bool(info.get("cluster_state") in ("ok", b"ok"))
    except redis.ConnectionError:
        return False


@pytest.fixture(scope="module")
def node_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (scripts/setup.sh installs it)"
    directory: Path = tmp_path_factory.mktemp("cluster-node")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--cluster-enabled", "yes", "--cluster-port", str(free_port())]
    args += ["--save", "", "--logfile", "redis.log"]
    proc = subprocess.Popen(args, preexec_fn=die_with_test)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        wait_until(lambda: _pings(client), 10, "the cluster node to accept connections")
        client.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
        wait_until(lambda: _cluster_ok(client), 10, "the cluster node to serve every slot")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
async def client(node_url: str) -> AsyncIterator[aioredis.Redis]:
    found = aioredis.Redis.from_url(node_url, decode_responses=True)
    await found.flushall()
    yield found
    await found.aclose()


async def test_every_script_runs_on_a_cluster_node(client: aioredis.Redis) -> None:
    scripts = CheckedScripts.on(client, KEYS)
    await client.hset(KEYS.dags, "d", "hash")
    await scripts.create_run(CreateRun("d", "r", 1.0, {"state": "queued"}))
    assert await scripts.renew(Renew("c1", 5000))
    stream = KEYS.queue("default")
    await client.xgroup_create(stream, WORKER_GROUP, id="0", mkstream=True)
    message_id = await client.xadd(stream, {"task": "t"})
    await client.xreadgroup(WORKER_GROUP, "w1", {stream: ">"})
    batch = Batch()
    batch.hset(KEYS.tis("d", "r"), "t|-1", '{"state": "queued", "try_number": 1}')
    batch.sadd(KEYS.active_runs, "d|r")
    await scripts.apply(Apply("c1", 5000, batch))
    claim = Claim("d", "r", "t", -1, 1, "ref")
    assert await scripts.claim_many(ClaimMany("w1", 1.0, (claim,))) == [True]
    finish = Finish(stream, message_id, "d", "r", "t", -1, 1, "{}", "ref", ("k", "v"), ("line",))
    await scripts.finish_many(FinishMany("w1", (finish,), 100, 60))
    assert await client.hgetall(KEYS.xcom("d", "r", "t")) == {"k": "v"}


async def test_keys_without_a_shared_tag_are_refused(client: aioredis.Redis) -> None:
    """What the hash tag is for: the same call with untagged keys spans slots."""
    untagged = Keys("airlane:")
    scripts = Scripts.register(client, untagged)
    await client.hset(untagged.dags, "d", "hash")
    with pytest.raises(ResponseError, match="hash to the same slot"):
        await scripts.create_run(CreateRun("d", "r", 1.0, {"state": "queued"}))
