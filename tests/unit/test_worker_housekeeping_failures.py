"""A worker's housekeeping failing does not hang or crash the worker: a malformed message is
logged and skipped, a failed round is followed by the next, and a housekeeping loop that died
anyway does not skip the rest of the shutdown."""

from __future__ import annotations

import asyncio

import pytest

from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.protocol import MalformedRecord
from airlane.service.worker import TaskIsolation, Worker, WorkerSettings
from tests.integration.cluster import RedisServer

#: nothing listens there: the test must not reach Redis
NOWHERE = "redis://127.0.0.1:9/0"


async def test_a_malformed_message_is_skipped() -> None:
    client = connect(NOWHERE)
    worker = Worker(WorkerSettings(NOWHERE, task_isolation=TaskIsolation.INLINE), client, Keys())
    try:
        worker._start(Keys().queue("default"), "1-0", {"dag_id": "d"})  # used to raise
        assert not worker.running
    finally:
        worker.sync_client.close()
        await client.aclose()


async def test_housekeeping_goes_on_after_a_failed_round(
    clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = connect(clean_redis.url)
    settings = WorkerSettings(
        clean_redis.url, heartbeat_s=0.001, task_isolation=TaskIsolation.INLINE
    )
    worker = Worker(settings, client, Keys())
    rounds: list[int] = []
    third = asyncio.Event()

    async def fails() -> None:
        rounds.append(1)
        if len(rounds) >= 3:
            third.set()
        raise MalformedRecord("a bad record")

    monkeypatch.setattr(worker, "_stop_cleared", fails)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(third.wait(), 10)  # the loop survived two failed rounds
        stop.set()
        await asyncio.wait_for(running, 10)
    finally:
        running.cancel()
        await client.aclose()


async def test_the_shutdown_completes_when_housekeeping_died(
    clean_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = connect(clean_redis.url)
    settings = WorkerSettings(clean_redis.url, task_isolation=TaskIsolation.INLINE)
    worker = Worker(settings, client, Keys())
    died = asyncio.Event()
    stopped: list[str] = []

    async def dies(closing: asyncio.Event) -> None:
        died.set()
        raise RuntimeError("housekeeping bug")

    real_stop = worker.heartbeat.stop

    def stop_heartbeat() -> None:
        stopped.append("heartbeat")
        real_stop()

    monkeypatch.setattr(worker, "_housekeeping_loop", dies)
    monkeypatch.setattr(worker.heartbeat, "stop", stop_heartbeat)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(died.wait(), 10)
        stop.set()
        await asyncio.wait_for(running, 10)  # used to re-raise before stopping the heartbeat
        assert stopped == ["heartbeat"]
    finally:
        running.cancel()
        await client.aclose()
