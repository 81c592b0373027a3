"""The triggerer's watchdog logs a trigger that blocks the event loop, as Airflow's does."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.service.triggerer import Triggerer, TriggererSettings


def test_a_blocked_loop_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    settings = TriggererSettings("redis://127.0.0.1:1/0", "dags", block_warn_s=0.2)
    triggerer = Triggerer(settings, aioredis.Redis(), Keys())

    async def main() -> None:
        stop = asyncio.Event()
        watchdog = asyncio.create_task(triggerer._watchdog(stop))
        await asyncio.sleep(0.05)
        time.sleep(0.4)  # noqa: ASYNC251 (a badly-written trigger: it blocks the loop)
        async with asyncio.timeout(5):
            while not triggerer.blocked_count:  # noqa: ASYNC110 (the watchdog's own count)
                await asyncio.sleep(0.01)
        stop.set()
        await watchdog

    with caplog.at_level(logging.WARNING, logger="airlane.triggerer"):
        asyncio.run(main())
    assert triggerer.blocked_count >= 1
    assert "Triggerer's async thread was blocked for 0." in caplog.text
    assert "badly-written trigger" in caplog.text
