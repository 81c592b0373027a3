"""The worker's lean Redis calls answer as the redis-py calls they replace."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from airlane.queue import typed
from airlane.queue.keys import Keys
from airlane.queue.scripts import Scripts
from airlane.queue.scripts.wire import ScriptArgs
from airlane.service.worker.lean_calls import LeanCalls

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("protocol", [2, 3])
async def test_reads_pipelines_and_scripts_answer_as_redis_py(
    client: aioredis.Redis, protocol: int
) -> None:
    url = client.connection_pool.connection_kwargs
    own = aioredis.Redis(
        host=url["host"], port=url["port"], decode_responses=True, protocol=protocol
    )
    try:
        lean = LeanCalls(own, Scripts.register(own, Keys()))
        for stream in ("s1", "s2"):
            await own.xgroup_create(stream, "g", id="0", mkstream=True)
        await own.xadd("s1", {"m": "one", "x": "1"})
        await own.xadd("s2", {"m": "two"})
        streams = {"s1": ">", "s2": ">"}
        read = await lean.read_group("g", "w", streams, count=10, block_ms=10)
        await own.xgroup_setid("s1", "g", id="0")
        await own.xgroup_setid("s2", "g", id="0")
        expected = await typed.xreadgroup(client, "g", "w2", streams, count=10, block=10)
        assert [(s, e) for s, e in read] == [(s, e) for s, e in expected]
        assert [[f for _, f in entries] for _, entries in read] == [
            [{"m": "one", "x": "1"}],
            [{"m": "two"}],
        ]
        assert await lean.read_group("g", "w", streams, count=10, block_ms=10) == []

        await lean.run_all([("XADD", "log", "*", "line", "a"), ("EXPIRE", "log", 60)])
        assert [f for _, f in await typed.xrange(own, "log")] == [{"line": "a"}]
        assert 0 < await own.ttl("log") <= 60
        with pytest.raises(ResponseError):  # every answer is read before the error is raised
            await lean.run_all([("INCR", "log"), ("XADD", "log", "*", "line", "b")])
        assert len(await typed.xrange(own, "log")) == 2  # the connection is still in step

        lean.scripts.registered["echo"] = own.register_script("return {KEYS[1], ARGV[1]}")
        assert await lean._call("echo", ScriptArgs(["k"], ["v"])) == ["k", "v"]
        await own.script_flush()  # a script Redis lost (restarted) is loaded again
        assert await lean._call("echo", ScriptArgs(["k"], ["w"])) == ["k", "w"]
    finally:
        await own.aclose()


async def test_a_call_past_its_socket_timeout_is_cut_and_the_next_one_reconnects(
    client: aioredis.Redis,
) -> None:
    url = client.connection_pool.connection_kwargs
    own = aioredis.Redis(
        host=url["host"], port=url["port"], decode_responses=True, socket_timeout=0.2
    )
    try:
        lean = LeanCalls(own, Scripts.register(own, Keys()))
        await lean.run_all([("PING",)])  # connected: the lean write, not redis-py's
        with pytest.raises(RedisConnectionError):  # answered never: cut by the watch
            await lean.run_all([("BLPOP", "never", 0)])
        assert not lean.watch._due
        await lean.run_all([("SET", "k", "v")])
        assert await own.get("k") == "v"
    finally:
        await own.aclose()
