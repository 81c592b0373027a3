"""The log writers' shared flush clock: each started writer's lines go out on its ticks, a
stopped one's stay for its finish, and one timer serves every writer."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import redis.asyncio as aioredis

from airlane.service.worker import log_writer
from airlane.service.worker.lean_calls import LeanCalls
from airlane.service.worker.log_writer import TaskLogWriter


class _Sent:
    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []
        self.sent = asyncio.Event()

    async def run_all(self, commands: list[tuple[Any, ...]]) -> None:
        self.commands += commands
        self.sent.set()


def _writer(sent: _Sent, key: str) -> TaskLogWriter:
    client = cast(aioredis.Redis, None)
    return TaskLogWriter(client, key, 60, calls=cast(LeanCalls, sent))


async def test_started_writers_flush_on_one_clock_and_stopped_ones_keep_their_lines() -> None:
    sent = _Sent()
    running, ended, idle = _writer(sent, "a"), _writer(sent, "b"), _writer(sent, "c")
    for writer in (running, ended, idle):
        writer.write("hello")
    running.start()
    ended.start()
    clock = log_writer._FlushClock.of_running_loop()
    assert clock.timer is not None  # one timer for both
    assert len(clock.due) == 2
    assert ended.stop() is None
    await asyncio.wait_for(sent.sent.wait(), 5)
    assert {c[1] for c in sent.commands} == {"a"}  # XADD and EXPIRE of the running one only
    assert [c[0] for c in sent.commands] == ["XADD", "EXPIRE"]
    lines, set_expiry = ended.take()
    assert [line.endswith("hello") for line in lines] == [True]
    assert set_expiry
    assert idle.waiting() == 1  # never started: its lines wait for its finish
    running.stop()
    async with asyncio.timeout(5):
        while clock.due:  # noqa: ASYNC110 (stopped writers leave the clock at their next tick)
            await asyncio.sleep(log_writer.FLUSH_INTERVAL_S / 2)
    assert clock.timer is None
