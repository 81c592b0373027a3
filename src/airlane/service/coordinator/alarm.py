"""Waking the coordinator's blocked read on time."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.keys import Keys
from airlane.queue.messages import STREAM_MAXLEN
from airlane.queue.protocol import Tick

#: further off than this, the periodic check wakes the loop soon enough
_HORIZON_S = 0.9


class Alarm:
    """Wakes the blocked read at a given time by adding a tick to the commands stream.

    Redis times out a blocked read on its own cron tick (every 1000/hz ms, 100 ms by
    default), far too coarse for a run due at a given millisecond; a tick written on time
    ends the read at once. An earlier alarm supersedes a later one; a stale one only costs
    a harmless extra tick.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        #: the tasks sleeping until their alarm rings
        self._tasks: set[asyncio.Task[None]] = set()
        #: when the pending alarm rings
        self._wake_s: float | None = None

    def reset(self) -> None:
        self._wake_s = None

    def set(self, wake_s: float) -> None:
        if wake_s - time.time() > _HORIZON_S or (
            self._wake_s is not None and self._wake_s <= wake_s
        ):
            return  # the periodic check wakes the loop soon enough, or an alarm is set already
        self._wake_s = wake_s
        task = asyncio.create_task(self._ring(wake_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ring(self, wake_s: float) -> None:
        await asyncio.sleep(max(0.0, wake_s - time.time()))
        if self._wake_s == wake_s:
            self._wake_s = None
        try:
            await self.client.xadd(
                self.keys.commands,
                Tick().to_fields(),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        except TRANSIENT_ERRORS:
            pass  # the read times out by itself, later
