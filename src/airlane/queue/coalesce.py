"""Coalescing: many small requests to Redis sent as one call.

Items submitted while fewer than ``max_in_flight`` calls are out go out on the next turn of
the event loop, so an idle worker adds no delay; items submitted while that many calls are out
wait for one of them and go out together after it. Under load a round trip then carries as many
items as arrived meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Answer(asyncio.Future[R]):
    """An item's result that the cancellation of a task awaiting it does not cancel: the task
    is told it was cancelled once the result is in (``Task.cancel`` delivers its cancellation
    at the task's next step when its future refuses to be cancelled), and reads the result
    then. A submitter that, cancelled, awaits its result anyway (a worker's try handing back
    what it claimed, reporting how it ended) needs no ``asyncio.shield``: a future and a
    callback less per wait. Only the coalescer cancels it (its call cancelled)."""

    def cancel(self, msg: object = None) -> bool:
        return False


class Coalescer(Generic[T, R]):
    """``submit(item)`` returns a future of the item's result from ``send(items)``, which runs
    at most ``max_in_flight`` times at once.

    ``send`` runs in a task of its own: a submitter cancelled while it waits never interrupts
    a Redis call half way (which can leave a redis-py connection unusable, redis-py#2665).

    ``sheltered``: the futures are ``Answer``s, which a submitter's cancellation does not
    cancel (as ``asyncio.shield`` would, without its future and callback more per wait).
    """

    def __init__(
        self,
        send: Callable[[list[T]], Awaitable[Sequence[R]]],
        max_items: int = 256,
        max_in_flight: int = 1,
        sheltered: bool = False,
    ) -> None:
        self._send = send
        self._sheltered = sheltered
        self.max_items = max_items
        self.max_in_flight = max_in_flight
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._scheduled = False

    def submit(self, item: T) -> asyncio.Future[R]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = Answer(loop=loop) if self._sheltered else loop.create_future()
        self._pending.append((item, future))
        if not self._scheduled and len(self._in_flight) < self.max_in_flight:
            self._scheduled = True
            loop.call_soon(self._start)
        return future

    async def wait_idle(self) -> None:
        """Until everything submitted so far has been sent."""
        while self._in_flight or self._pending:
            if self._in_flight:
                await asyncio.wait(set(self._in_flight))
            else:
                await asyncio.sleep(0)

    def _start(self) -> None:
        self._scheduled = False
        if len(self._in_flight) >= self.max_in_flight or not self._pending:
            return
        chunk = self._pending[: self.max_items]
        self._pending = self._pending[self.max_items :]
        task = asyncio.create_task(self._deliver(chunk))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)  # also one cancelled before it ran

    async def _deliver(self, chunk: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._send([item for item, _ in chunk])
        except Exception as err:  # every waiter sees the error; none is left hanging
            for _, future in chunk:
                if not future.done():
                    future.set_exception(err)
        except BaseException:
            # Cancelled (the event loop shutting down cancels every task): the waiters are
            # cancelled too. Left pending, a waiter that awaits its result while it is itself
            # being cancelled (a worker's try handing itself back) would wait forever, and
            # asyncio.run() with it.
            for _, future in chunk:
                asyncio.Future.cancel(future)  # (an Answer too)
            raise
        else:
            for (_, future), result in zip(chunk, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            current = asyncio.current_task()
            if current is not None:
                self._in_flight.discard(current)
            if self._pending:
                self._start()
