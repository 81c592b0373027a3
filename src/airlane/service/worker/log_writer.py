"""Streaming a try's log lines into Redis in small batches, from any thread.

What is kept of a try's output is bounded in bytes (``log_limits``): per line, per try, and so
in the writer's memory whatever the try prints, however long Redis is away.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time

import redis.asyncio as aioredis

from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.messages import LogLine
from airlane.sdk.secrets_masker import mask_text
from airlane.service.worker.log_limits import LogBudget, LogLimits, cut_line

#: A backstop only: the byte cap (at least 43 bytes a line) ends a try's log long before this.
LOG_MAXLEN = 10_000_000
FLUSH_INTERVAL_S = 0.1


class TaskLogWriter:
    """``write(line)`` is thread-safe; lines reach the stream within ``FLUSH_INTERVAL_S``."""

    def __init__(
        self,
        client: aioredis.Redis,
        key: str,
        retention_s: int,
        limits: LogLimits | None = None,
    ) -> None:
        self.client = client
        self.key = key
        self.retention_s = retention_s
        self._lines: collections.deque[str] = collections.deque()
        self._flusher: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._expiry_set = False
        self._budget = LogBudget(limits or LogLimits())
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        stamp = f"[{time.strftime('%H:%M:%S')}] "
        # inline tries register their secrets in this process: mask them before storing
        text = stamp + cut_line(mask_text(line), self._budget.limits.max_line_bytes)
        with self._lock:
            for kept in self._budget.admit(text):
                self._lines.append(kept if kept is text else stamp + kept)

    def _seal(self) -> None:
        """The try ended: the tail kept past the cap joins the lines to send."""
        with self._lock:
            marker, tail = self._budget.seal()
            if marker is not None:
                self._lines.append(f"[{time.strftime('%H:%M:%S')}] {marker}")
            self._lines.extend(tail)

    def waiting(self) -> int:
        """Lines written and not sent yet (what a producer's backpressure watches)."""
        return len(self._lines)

    def start(self) -> None:
        """Flush in the background once the try has run for a flush interval; most no-op tries
        end before that and send their lines once, at close."""
        self._timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self._start_flusher)

    def _start_flusher(self) -> None:
        self._flusher = asyncio.create_task(self._run())

    async def _run(self) -> None:
        # Stopped by an event, never cancelled: cancelling redis-py in the middle of a
        # pipeline can leave its connection unusable (redis/redis-py#2665).
        while not self._closing.is_set():
            try:
                await asyncio.wait_for(self._closing.wait(), FLUSH_INTERVAL_S)
            except TimeoutError:
                pass
            await self.flush()

    async def flush(self) -> bool:
        """Send the waiting lines; on a connection error keep them for the next flush."""
        if not self._lines:
            return True
        batch = []
        while self._lines:
            batch.append(self._lines.popleft())
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for line in batch:
                    pipe.xadd(
                        self.key, LogLine(line).to_fields(), maxlen=LOG_MAXLEN, approximate=True
                    )
                if not self._expiry_set:
                    pipe.expire(self.key, self.retention_s)
                await pipe.execute()
        except TRANSIENT_ERRORS:
            self._lines.extendleft(reversed(batch))
            return False
        self._expiry_set = True
        return True

    async def stop(self) -> None:
        """Stop flushing in the background (the lines not sent yet stay, for ``take``)."""
        if self._timer is not None:
            self._timer.cancel()
        if self._flusher is not None:
            self._closing.set()
            await self._flusher
            self._flusher = None

    def take(self) -> tuple[list[str], bool]:
        """After ``stop``: the lines not sent yet, and whether the stream's expiry is still
        to be set; whoever takes them writes them (the worker, with the try's completion)."""
        self._seal()
        lines = list(self._lines)
        self._lines.clear()
        return lines, not self._expiry_set

    async def close(self, attempts: int = 60) -> None:
        """Stop the background flusher and send the rest, waiting out a short Redis outage."""
        await self.stop()
        self._seal()
        for _ in range(attempts):
            if await self.flush():
                return
            await asyncio.sleep(0.5)
