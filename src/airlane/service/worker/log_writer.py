"""Streaming a try's log lines into Redis in small batches, from any thread.

What is kept of a try's output is bounded in bytes (``log_limits``): per line, per try, and so
in the writer's memory whatever the try prints, however long Redis is away.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time

import redis.asyncio as aioredis

from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.messages import LogLine
from airlane.queue.scripts.finish import LINES_WHILE_CLAIMED
from airlane.sdk.secrets_masker import mask_text
from airlane.service.worker.lean_calls import LeanCalls
from airlane.service.worker.log_limits import LogBudget, LogLimits, cut_line

#: A backstop only: the byte cap (at least 43 bytes a line) ends a try's log long before this.
LOG_MAXLEN = 10_000_000
FLUSH_INTERVAL_S = 0.1
#: a flush tick due this close to now is due now
_CLOCK_SLACK_S = 0.001

log = logging.getLogger("airlane.worker")


#: (second, its "[HH:MM:SS] " prefix): formatted once a second, not once a line
_last_stamp: tuple[int, str] = (-1, "")


def stamped(line: str) -> str:
    """A line as the log stores it: its time prefix, then the line."""
    return _stamp() + line


def _stamp() -> str:
    """The prefix of a line written now (local time, as ``time.strftime`` gives it)."""
    global _last_stamp
    now_s = int(time.time())
    second, text = _last_stamp
    if second != now_s:
        text = time.strftime("[%H:%M:%S] ", time.localtime(now_s))
        _last_stamp = (now_s, text)
    return text


class TaskLogWriter:
    """``write(line)`` is thread-safe; once ``start`` is called (when the try starts running:
    a try waiting for a task process has nothing worth a round trip to say), lines reach the
    stream within ``FLUSH_INTERVAL_S``."""

    def __init__(
        self,
        client: aioredis.Redis,
        key: str,
        retention_s: int,
        limits: LogLimits | None = None,
        calls: LeanCalls | None = None,
    ) -> None:
        """``calls``: the worker's lean calls, which send the lines when given (else the
        client, in a pipeline)."""
        self.client = client
        self.calls = calls
        self.key = key
        self.retention_s = retention_s
        self._lines: collections.deque[str] = collections.deque()
        #: the flush the clock started, while it runs
        self._flushing: asyncio.Future[None] | None = None
        self._started = False
        self._stopped = False
        self._expiry_set = False
        self._budget = LogBudget(limits or LogLimits())
        self._lock = threading.Lock()
        #: (worker_tasks key, the try's ClaimRef) when its task process may finish the try
        #: itself: lines are sent only while the claim is the worker's (LINES_WHILE_CLAIMED)
        self.guard: tuple[str, str] | None = None

    def write_stamped(self, text: str) -> None:
        """A line stamped already (``stamped``): the first line, which a task process that
        may finish the try itself keeps as written here."""
        self._keep(text, _stamp())

    def write(self, line: str) -> None:
        stamp = _stamp()
        # inline tries register their secrets in this process: mask them before storing
        self._keep(stamp + cut_line(mask_text(line), self._budget.limits.max_line_bytes), stamp)

    def _keep(self, text: str, stamp: str) -> None:
        with self._lock:
            if self._budget.take(text):  # the common case: within the cap
                self._lines.append(text)
                return
            for kept in self._budget.admit(text):
                self._lines.append(kept if kept is text else stamp + kept)

    def _seal(self) -> None:
        """The try ended: the tail kept past the cap joins the lines to send."""
        if not self._budget.truncated:
            return  # nothing was kept past the cap (and nothing is written after the end)
        with self._lock:
            marker, tail = self._budget.seal()
            if marker is not None:
                self._lines.append(_stamp() + marker)
            self._lines.extend(tail)

    def waiting(self) -> int:
        """Lines written and not sent yet (what a producer's backpressure watches)."""
        return len(self._lines)

    def start(self) -> None:
        """Start the flush clock: from now on, lines waiting are sent every ``FLUSH_INTERVAL_S``
        (the loop's one shared clock, no task or timer of the try's own: a tick with nothing
        to send costs nothing). Most no-op tries end before their first tick and send their
        lines once, with their finish."""
        if not self._started and not self._stopped:
            self._started = True
            _FlushClock.of_running_loop().add(self)

    def _tick(self) -> bool:
        """The clock's tick for this writer: False once it is stopped (no more ticks)."""
        if self._stopped:
            return False
        if self._lines and self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush_in_background())
        return True

    async def _flush_in_background(self) -> None:
        # Awaited by ``stop``, never cancelled: cancelling redis-py in the middle of a
        # pipeline can leave its connection unusable (redis/redis-py#2665).
        try:
            await self.flush()
        except Exception:  # not Redis away (kept for the next flush): these lines are lost
            log.exception("could not send log lines of %s", self.key)
        finally:
            self._flushing = None

    async def flush(self) -> bool:
        """Send the waiting lines; on a connection error keep them for the next flush."""
        if not self._lines:
            return True
        batch = []
        while self._lines:
            batch.append(self._lines.popleft())
        try:
            await self._send(batch)
        except TRANSIENT_ERRORS:
            self._lines.extendleft(reversed(batch))
            return False
        self._expiry_set = True
        return True

    async def _send(self, batch: list[str]) -> None:
        if self.calls is not None and self.guard is not None:
            tasks_key, ref = self.guard
            expiry = 0 if self._expiry_set else self.retention_s
            command = ("EVAL", LINES_WHILE_CLAIMED, 2, self.key, tasks_key, ref, LOG_MAXLEN, expiry)
            await self.calls.run_all([(*command, *batch)])
            return
        if self.calls is not None:
            commands: list[tuple[str | int, ...]] = [
                ("XADD", self.key, "MAXLEN", "~", LOG_MAXLEN, "*", "line", line) for line in batch
            ]
            if not self._expiry_set:
                commands.append(("EXPIRE", self.key, self.retention_s))
            await self.calls.run_all(commands)
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for line in batch:
                pipe.xadd(self.key, LogLine(line).to_fields(), maxlen=LOG_MAXLEN, approximate=True)
            if not self._expiry_set:
                pipe.expire(self.key, self.retention_s)
            await pipe.execute()

    def stop(self) -> asyncio.Future[None] | None:
        """Stop flushing in the background (the lines not sent yet stay, for ``take``); the
        background flush still under way, if any, is returned (to await before ``take``)."""
        self._stopped = True
        return self._flushing

    def take(self) -> tuple[list[str], bool]:
        """After ``stop``: the lines not sent yet, and whether the stream's expiry is still
        to be set; whoever takes them writes them (the worker, with the try's completion)."""
        self._seal()
        lines = list(self._lines)
        self._lines.clear()
        return lines, not self._expiry_set

    async def close(self, attempts: int = 60) -> None:
        """Stop the background flusher and send the rest, waiting out a short Redis outage."""
        flushing = self.stop()
        if flushing is not None:
            await asyncio.shield(flushing)
        self._seal()
        for _ in range(attempts):
            if await self.flush():
                return
            await asyncio.sleep(0.5)


class _FlushClock:
    """The flush ticks of an event loop's writers: each started writer ticks every
    ``FLUSH_INTERVAL_S`` from its start, as with a timer of its own, but one timer serves them
    all (the next writer due), and a writer that stops costs nothing (dropped at its tick)."""

    _clocks: dict[asyncio.AbstractEventLoop, _FlushClock] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        #: (due time on the loop's clock, writer), in order of due time: all wait alike
        self.due: collections.deque[tuple[float, TaskLogWriter]] = collections.deque()
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def of_running_loop(cls) -> _FlushClock:
        loop = asyncio.get_running_loop()
        clock = cls._clocks.get(loop)
        if clock is None:
            for old in [known for known in cls._clocks if known.is_closed()]:
                del cls._clocks[old]
            clock = cls._clocks[loop] = cls(loop)
        return clock

    def add(self, writer: TaskLogWriter) -> None:
        self.due.append((self.loop.time() + FLUSH_INTERVAL_S, writer))
        if self.timer is None:
            self.timer = self.loop.call_at(self.due[0][0], self._fire)

    def _fire(self) -> None:
        self.timer = None
        due = self.due
        now = self.loop.time()
        # (the loop runs a timer up to its clock's resolution early)
        while due and due[0][0] <= now + _CLOCK_SLACK_S:
            _, writer = due.popleft()
            if writer._tick():
                due.append((now + FLUSH_INTERVAL_S, writer))
        if due:
            self.timer = self.loop.call_at(due[0][0], self._fire)
