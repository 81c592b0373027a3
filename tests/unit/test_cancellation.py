"""Ending tasks whose Redis calls can lose a cancellation (redis-py does, often)."""

from __future__ import annotations

import asyncio

from airlane.queue.connection import cancel_until_done


async def test_a_task_that_loses_a_cancellation_is_cancelled_again() -> None:
    lost = 0

    async def reader() -> None:
        nonlocal lost
        while True:
            try:
                await asyncio.sleep(0.01)  # an XREAD that completes though cancelled
            except asyncio.CancelledError:
                if lost:
                    raise
                lost += 1  # the first cancellation is lost, as redis-py loses it

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_until_done([task], retry_s=0.05), 5)
    assert task.cancelled()
    assert lost == 1
