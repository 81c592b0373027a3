"""The worker's end of its fork template (``task_template``): task processes forked from a
process that imported Airlane once, instead of each started with ``python -m`` (about 0.35 s
of CPU each, more where bytecode is not cached).

A forked task process is not the worker's child: the template reaps it and says how it ended,
which its ``ForkedProc`` (what the pool uses of an asyncio subprocess) hands on. When the
template ends, its task processes die with it (PR_SET_PDEATHSIG) and end here as killed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import socket
import time
from dataclasses import asdict
from typing import Protocol

from airlane.service.worker.task_channel import (
    ChannelClosed,
    handshake,
    read_frame,
    start_with_channel,
)
from airlane.service.worker.task_process import TaskProcessConfig


class ProcessHandle(Protocol):
    """What the pool uses of a task process: an asyncio subprocess, or a ``ForkedProc``."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class ForkedProc:
    """A task process forked by the template; ``returncode`` as ``Popen`` gives it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def ended(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
            self._ended.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)


class ForkTemplate:
    """A running template: ``fork`` gives a new task process and the worker's end of its
    channel; ``alive`` turns False when the template ended (it forks no more)."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        sock: socket.socket,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.proc, self._sock, self._reader, self._writer = proc, sock, reader, writer
        self.alive = True
        #: how long it took to start (as a task process started with ``python -m`` would)
        self.start_s = 0.0
        self._pending: collections.deque[asyncio.Future[ForkedProc]] = collections.deque()
        self._children: dict[int, ForkedProc] = {}
        self._reading = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, config: TaskProcessConfig) -> ForkTemplate:
        began_s = time.monotonic()
        proc, ours = await start_with_channel("airlane.service.worker.task_template")
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        await handshake(reader, writer, asdict(config), "the fork template", proc.wait, proc.kill)
        template = cls(proc, ours, reader, writer)
        template.start_s = time.monotonic() - began_s
        return template

    async def fork(self) -> tuple[ForkedProc, socket.socket]:
        if not self.alive:
            raise RuntimeError("the fork template ended")
        ours, theirs = socket.socketpair()
        future: asyncio.Future[ForkedProc] = asyncio.get_running_loop().create_future()
        try:
            socket.send_fds(self._sock, [b"f"], [theirs.fileno()])
            self._pending.append(future)
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        try:
            child = await future
        except BaseException:  # cancelled: a child forked meanwhile ends on its closed channel
            ours.close()
            raise
        return child, ours

    async def _read(self) -> None:
        try:
            while True:
                frame = await read_frame(self._reader)
                if frame["t"] == "forked":
                    child = ForkedProc(frame["pid"])
                    self._children[child.pid] = child
                    waiting = self._pending.popleft()
                    if not waiting.done():
                        waiting.set_result(child)
                elif frame["t"] == "exited":
                    ended = self._children.pop(frame["pid"], None)
                    if ended is not None:
                        ended.ended(frame["code"])
        except (ChannelClosed, ConnectionError):
            pass
        finally:
            self._ended()

    def _ended(self) -> None:
        """Its task processes die with it (their death signal): each ends as killed."""
        self.alive = False
        self._writer.close()
        while self._pending:
            waiting = self._pending.popleft()
            if not waiting.done():
                waiting.set_exception(RuntimeError("the fork template ended"))
        for child in self._children.values():
            child.ended(-signal.SIGKILL)
        self._children.clear()

    async def close(self) -> None:
        self.alive = False
        self._writer.close()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        try:
            await asyncio.wait_for(self.proc.wait(), 5.0)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
