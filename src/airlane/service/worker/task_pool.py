"""The worker's warm task processes: spawned lazily up to its concurrency, one try at a time
each, retired after a while idle, killed (whole process group) when a try must end early."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass, field

from airlane.service.worker.task_channel import ChannelClosed, encode, read_frame
from airlane.service.worker.task_process import TaskProcessConfig

log = logging.getLogger("airlane.worker")

#: A new task process has this long to start (import Airlane) and say it is ready.
SPAWN_TIMEOUT_S = 60.0
#: New task processes started at once (each costs the import of Airlane: about 0.3 s of CPU).
MAX_PARALLEL_SPAWNS = 2
#: How long a task process that closed its channel has to exit before it is killed.
EXIT_WAIT_S = 5.0


@dataclass(eq=False)
class TaskProcess:
    proc: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)
    #: per DAG file this process imported (as last imported there): dag_id -> task_id ->
    #: execution_timeout in seconds, tasks without one left out (isolated_try's _Phase)
    timeouts: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the process and its group (what a try started there, Bash children too)."""
        for kill in (os.killpg, os.kill):
            try:
                kill(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.writer.close()

    async def exit_code(self) -> int:
        """Wait for the process to end (it has closed its channel or was killed); one that
        closed its channel (user code closing fds) but lives on is killed."""
        self.writer.close()
        try:
            code: int = await asyncio.wait_for(self.proc.wait(), EXIT_WAIT_S)
        except TimeoutError:
            self.kill()
            code = await self.proc.wait()
        return code


class TaskPool:
    """Hands out idle task processes; a caller waits for one when all ``max_size`` are busy."""

    def __init__(self, config: TaskProcessConfig, max_size: int, idle_s: float) -> None:
        self.config = config
        self.max_size = max_size
        self.idle_s = idle_s
        self._idle: list[TaskProcess] = []
        self._waiters: collections.deque[asyncio.Future[TaskProcess]] = collections.deque()
        self._size = 0  # processes alive or being spawned
        self._spawns: set[asyncio.Task[None]] = set()
        self._closed = False

    async def acquire(self) -> TaskProcess:
        if self._idle:
            return self._idle.pop()  # the most recently used: the rest can go idle and retire
        waiter: asyncio.Future[TaskProcess] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._grow()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(waiter.result())
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _grow(self) -> None:
        """Start task processes for waiting tries, a few at a time: a burst of short tries is
        mostly served by processes freed meanwhile, so the pool grows only as far as needed."""
        while (
            not self._closed
            and self._size < self.max_size
            and len(self._spawns) < MAX_PARALLEL_SPAWNS
            and len(self._spawns) < len(self._waiters)
        ):
            self._start_spawn()

    def prestart(self) -> None:
        """Start one process ahead of demand: a worker's first try does not wait for a spawn."""
        if self._size == 0 and not self._closed:
            self._start_spawn()

    def _start_spawn(self) -> None:
        self._size += 1
        spawn = asyncio.create_task(self._spawn_into_pool())
        self._spawns.add(spawn)
        spawn.add_done_callback(self._spawned)

    def _spawned(self, spawn: asyncio.Task[None]) -> None:
        self._spawns.discard(spawn)
        self._grow()

    def release(self, process: TaskProcess) -> None:
        """Give back a process that finished its try cleanly."""
        if process.proc.returncode is not None:
            self.discard(process)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(process)
                return
        process.idle_since = time.monotonic()
        self._idle.append(process)

    def discard(self, process: TaskProcess) -> None:
        """Forget a process that was killed or died (a later ``acquire`` spawns another)."""
        process.kill()
        self._size -= 1
        asyncio.get_running_loop().create_task(process.exit_code())

    async def _spawn_into_pool(self) -> None:
        try:
            process = await asyncio.wait_for(self._spawn(), SPAWN_TIMEOUT_S)
        except Exception as err:
            self._size -= 1
            log.exception("could not start a task process")
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(RuntimeError(f"could not start a task process: {err}"))
                    return
            return
        self.release(process)

    async def _spawn(self) -> TaskProcess:
        ours, theirs = socket.socketpair()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "airlane.service.worker.task_process",
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        process = TaskProcess(proc, reader, writer)
        # The settings go over the channel, not the command line: anyone can read that (ps),
        # and the Redis URL may hold a password.
        writer.write(encode(asdict(self.config)))
        try:
            frame = await read_frame(reader)
        except ChannelClosed:
            code = await process.exit_code()
            raise RuntimeError(f"the task process exited with code {code} at start") from None
        if frame.get("t") != "ready":
            process.kill()
            raise RuntimeError(f"unexpected first frame from a task process: {frame}")
        return process

    def retire_idle(self) -> None:
        """Stop processes idle for longer than ``idle_s``."""
        cutoff = time.monotonic() - self.idle_s
        keep = [p for p in self._idle if p.idle_since > cutoff]
        for process in self._idle:
            if process.idle_since <= cutoff:
                self.discard(process)
        self._idle = keep

    async def close(self) -> None:
        self._closed = True
        for spawn in list(self._spawns):
            spawn.cancel()
        await asyncio.gather(*self._spawns, return_exceptions=True)
        idle, self._idle = self._idle, []
        for process in idle:
            process.kill()
        await asyncio.gather(*(p.proc.wait() for p in idle), return_exceptions=True)
