"""The coalescer's delivery: results, errors and cancellation all reach every waiter."""

from __future__ import annotations

import asyncio

import pytest

from airlane.queue.coalesce import Coalescer


async def test_items_submitted_together_go_out_in_one_call() -> None:
    calls: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        calls.append(items)
        return [i * 10 for i in items]

    coalescer: Coalescer[int, int] = Coalescer(send)
    assert await asyncio.gather(coalescer.submit(1), coalescer.submit(2)) == [10, 20]
    assert calls == [[1, 2]]


async def test_a_cancelled_delivery_cancels_its_waiters() -> None:
    """The event loop's shutdown cancels every task at once: a waiter that, cancelled itself,
    still awaits its item's result (a worker's try deciding whether to hand itself back)
    must not wait forever for a delivery that was cancelled under it."""
    sending = asyncio.Event()

    async def send(items: list[int]) -> list[bool]:
        sending.set()
        await asyncio.Event().wait()  # a Redis call that never answers before the shutdown
        return [True] * len(items)

    coalescer: Coalescer[int, bool] = Coalescer(send)
    future = coalescer.submit(1)
    await sending.wait()
    in_flight = coalescer._in_flight
    assert in_flight is not None
    in_flight.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(future, 2)
    assert coalescer._in_flight is None
