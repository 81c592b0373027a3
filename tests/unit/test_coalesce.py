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


@pytest.mark.parametrize("sheltered", [False, True])
async def test_a_cancelled_delivery_cancels_its_waiters(sheltered: bool) -> None:
    """The event loop's shutdown cancels every task at once: a waiter that, cancelled itself,
    still awaits its item's result (a worker's try deciding whether to hand itself back)
    must not wait forever for a delivery that was cancelled under it."""
    sending = asyncio.Event()

    async def send(items: list[int]) -> list[bool]:
        sending.set()
        await asyncio.Event().wait()  # a Redis call that never answers before the shutdown
        return [True] * len(items)

    coalescer: Coalescer[int, bool] = Coalescer(send, sheltered=sheltered)
    future = coalescer.submit(1)
    await sending.wait()
    (in_flight,) = coalescer._in_flight
    in_flight.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(future, 2)
    assert not coalescer._in_flight


async def test_with_room_for_two_calls_an_item_does_not_wait_for_the_one_in_flight() -> None:
    """A finish must not wait a whole round trip behind the batch before it (an edge's lag)."""
    release = asyncio.Event()
    sent = asyncio.Event()
    calls: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        calls.append(items)
        sent.set()
        if items == [1]:
            await release.wait()
        return items

    coalescer: Coalescer[int, int] = Coalescer(send, max_in_flight=2)
    first = coalescer.submit(1)
    await sent.wait()
    assert await asyncio.wait_for(coalescer.submit(2), 2) == 2  # while 1 is still out
    assert not first.done()
    release.set()
    assert await first == 1
    assert calls == [[1], [2]]


async def test_items_beyond_the_calls_in_flight_wait_and_go_out_together() -> None:
    release = asyncio.Event()
    two_out = asyncio.Event()
    calls: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        calls.append(items)
        if len(calls) == 2:
            two_out.set()
        await release.wait()
        return items

    coalescer: Coalescer[int, int] = Coalescer(send, max_in_flight=2)
    futures = [coalescer.submit(1)]
    await asyncio.sleep(0)  # the first call goes out on the next turn of the loop
    futures.append(coalescer.submit(2))
    await two_out.wait()
    futures += [coalescer.submit(3), coalescer.submit(4)]
    release.set()
    assert await asyncio.gather(*futures) == [1, 2, 3, 4]
    assert calls == [[1], [2], [3, 4]]
    await coalescer.wait_idle()


async def test_a_sheltered_waiter_cancelled_is_told_once_its_answer_is_in() -> None:
    """As ``asyncio.shield``: the waiter's cancellation leaves its item's call and answer be."""
    release = asyncio.Event()

    async def send(items: list[int]) -> list[int]:
        await release.wait()
        return items

    coalescer: Coalescer[int, int] = Coalescer(send, sheltered=True)
    seen: list[int] = []

    async def waiter() -> None:
        answer = coalescer.submit(7)
        try:
            await answer
        except asyncio.CancelledError:
            seen.append(await answer)  # the answer, not cancelled
            raise

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    assert not task.done()  # told once the answer is in
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [7]
