"""The worker's warm task processes: spawned lazily up to its concurrency (forked from a
template that imported Airlane once, ``task_forks``, where the pool may hold more than one),
one try at a time each, retired after a while idle, killed (whole process group) when a try
must end early.
A try that finds all of them busy waits a grace for one to come free before another is started
for it (``pool_growth``); past one process per CPU of its share (``cpu_share``: the machine's
CPUs shared among the workers on it) under way, an idle one is used on the same terms
(``TaskPool._spare``)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import select
import signal
import socket
import time
from dataclasses import asdict, dataclass, field

from airlane.service.worker.cpu_share import CpuShare, usable_cpus
from airlane.service.worker.machine_load import MachineLoad
from airlane.service.worker.pool_growth import TryDurations, grace_s, overdue, spawns_to_start
from airlane.service.worker.task_channel import (
    handshake,
    start_with_channel,
)
from airlane.service.worker.task_forks import ForkedProc, ForkTemplate, ProcessHandle
from airlane.service.worker.task_process import TaskProcessConfig

log = logging.getLogger("airlane.worker")

#: A new task process has this long to start (import Airlane) and say it is ready.
SPAWN_TIMEOUT_S = 60.0
#: New task processes started at once (each costs the import of Airlane: about 0.3 s of CPU).
MAX_PARALLEL_SPAWNS = 2
#: A forked task process holds its spawn slot this long after its spawn began, or as long as
#: its template took to start if longer, as one started with ``python -m`` would
#: (see ``_spawn_into_pool``).
SPAWN_PACE_S = 0.35
#: The fork template is started again after it ended at most this many times (then new task
#: processes are started with ``python -m``).
MAX_TEMPLATE_FAILURES = 3
#: How long a task process that closed its channel has to exit before it is killed.
EXIT_WAIT_S = 5.0
#: A process held for the successor of its try (``release(hold_for=...)``) goes back to the
#: pool after this long at the latest, should nothing take it or give it back (a bug, a worker
#: error between the finish and the successor's start): housekeeping looks every second.
HOLD_MAX_S = 1.0


@dataclass(eq=False)
class TaskProcess:
    proc: ProcessHandle
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)
    #: when its current try got it (monotonic), 0.0 between tries
    busy_since: float = 0.0
    #: how long it says it ran its last try (its "done" frame), None when it did not say
    ran_s: float | None = None
    #: per DAG file this process imported (as last imported there): dag_id -> task_id ->
    #: execution_timeout in seconds, tasks without one left out (isolated_try's _Phase)
    timeouts: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: the worker's end of its channel (-1: none, a stand-in's)
    fd: int = -1
    #: its try's log backlog is full: the worker does not read its channel meanwhile
    backlogged: bool = False
    #: when it was held for a successor (monotonic), 0.0 when not held
    held_since: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def unread(self) -> bool:
        """Whether it sent something the worker has not handled yet (read or not)."""
        if self.reader is None or self.writer.is_closing() or self.backlogged:
            return False  # a stand-in, ending, or left unread on purpose
        buffered = getattr(self.reader, "_buffer", None)  # read by the loop, not yet consumed
        return bool(buffered) or (self.fd >= 0 and _readable(self.fd))

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


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return any(events & select.POLLIN for _, events in poller.poll(0))


@dataclass(eq=False, slots=True)
class _Waiter:
    """A try waiting for a process: overdue (owed a new process) once its grace has passed."""

    future: asyncio.Future[TaskProcess]
    overdue: bool = False
    timer: asyncio.TimerHandle | None = None
    grace_s: float = 0.0
    releases: int = 0  # the pool's releases when its current grace began

    def served(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class TaskPool:
    """Hands out idle task processes; a caller waits for one to come free, and only one still
    waiting after its grace has a new one started for it (up to ``max_size``)."""

    def __init__(
        self,
        config: TaskProcessConfig,
        max_size: int,
        idle_s: float,
        share: CpuShare | None = None,
    ) -> None:
        self.config = config
        self.max_size = max_size
        self.idle_s = idle_s
        self._idle: list[TaskProcess] = []
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._overdue = 0  # waiters in ``_waiters`` that are overdue
        self._durations = TryDurations()
        self._machine = MachineLoad()
        self._releases = 0  # processes that came free, ever
        #: its share of the machine's CPUs: the processes it grows to on waiting alone
        self._share = share or CpuShare(usable_cpus(), "")
        self._size = 0  # processes alive or being spawned
        self._busy: set[TaskProcess] = set()  # handed out, running a try
        #: came free but kept for the successor its try's finish may claim for the worker,
        #: under the finished try's ref (``release(hold_for=...)``)
        self._held: dict[str, TaskProcess] = {}
        self._spawns: set[asyncio.Task[None]] = set()
        self._template: asyncio.Task[ForkTemplate] | None = None
        self._template_failures = 0
        self._closed = False

    async def acquire(self, first: bool = False, held: str = "") -> TaskProcess:
        """An idle process, else the next to come free. ``first``: before the tries already
        waiting: a successor its upstream's finish claimed for this worker (the fast path's
        run here) goes before tries read from the queue, so that a run under way continues
        instead of waiting behind runs that are starting (after a 10,000-task fan-out,
        Airflow's 100 x 10 scenario's successors waited 38 ms each for a process behind them).
        ``held``: the ref under which its upstream's process was held for it: that one, when
        it is still there."""
        process = self._held.pop(held, None) if held else None
        if process is not None:
            process.held_since = 0.0
            # a try ended and its process went on to the next: the pool is not stuck (a waiter
            # behind a run under way is not owed a new process for it)
            self._releases += 1
            if process.proc.returncode is None:
                process.busy_since = time.monotonic()
                self._busy.add(process)
                return process
            self.discard(process)
        if self._spare():
            process = self._take_idle()
            if process is not None:
                process.busy_since = time.monotonic()
                self._busy.add(process)
                return process
        waiter = self._wait(first)
        try:
            process = await waiter.future
        except asyncio.CancelledError:
            future = waiter.future
            if future.done() and not future.cancelled() and future.exception() is None:
                self.release(future.result())
            else:
                waiter.served()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                    self._overdue -= waiter.overdue
            raise
        process.busy_since = time.monotonic()
        self._busy.add(process)
        return process

    def _take_idle(self) -> TaskProcess | None:
        """The most recently used idle process (the rest can stay idle and retire), if any."""
        while self._idle:
            process = self._idle.pop()
            if process.proc.returncode is None:
                return process
            self.discard(process)  # died idle (with its fork template)
        return None

    def _spare(self) -> bool:
        """Whether an idle process may take a try now. Once one process per CPU of the worker's
        share (``cpu_share``) is under way (running a try, or held for its successor), only on
        the terms that let the pool grow: its processes are saturated and the machine's CPUs
        are not all busy. Otherwise another try under way would only queue for the same CPUs
        (or for the worker) and make every try under way wait longer: in Airflow's 100 x 10
        scenario each process in use is one run under way, whose every edge waits its turn
        (after a fan-out had left 7 processes per worker, 1.4 to 6.3 s of lag to execution
        start against about 1 s; two workers on 2 CPUs each counting both CPUs as theirs kept
        four under way, 1.0 to 1.5 s, against 0.6 to 0.9 s with the CPUs shared). Such a try waits
        for a process to come free, as one that finds none idle does, and takes an idle one
        when its grace passes without one (``_grace_passed``): long tries do not block it."""
        if not self._idle or len(self._busy) + len(self._held) < self._share.floor():
            return True
        return self._durations.saturated() and not self._machine.busy()

    def _wait(self, first: bool) -> _Waiter:
        loop = asyncio.get_running_loop()
        spawning = len(self._spawns)
        busy = self._size - spawning - len(self._idle)
        grace = grace_s(self._durations.mean_s, len(self._waiters), busy, spawning)
        waiter = _Waiter(loop.create_future(), overdue=grace <= 0, grace_s=grace)
        if not waiter.overdue:
            self._start_grace(waiter)
        if first:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        self._overdue += waiter.overdue
        self._grow()
        return waiter

    def _start_grace(self, waiter: _Waiter) -> None:
        waiter.releases = self._releases
        loop = asyncio.get_running_loop()
        waiter.timer = loop.call_later(waiter.grace_s, self._grace_passed, waiter)

    def _grace_passed(self, waiter: _Waiter) -> None:
        saturated = self._durations.saturated()
        owed = overdue(
            saturated=saturated,
            released_meanwhile=self._releases != waiter.releases,
            below_floor=self._size < self._share.floor(),
            machine_busy=saturated and self._machine.busy(),
            worker_behind=self._worker_behind(),
        )
        if self._idle and (owed or self._spare()) and self._serve_idle(waiter):
            return
        if owed:
            waiter.overdue = True
            self._overdue += 1
            self._grow()
        else:
            self._start_grace(waiter)

    def _serve_idle(self, waiter: _Waiter) -> bool:
        """Give ``waiter`` an idle process (one ``_spare`` kept from it); False when none."""
        if waiter.future.done():
            return False
        process = self._take_idle()
        if process is None:
            return False
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
            self._overdue -= waiter.overdue
        waiter.served()
        waiter.future.set_result(process)
        return True

    def _worker_behind(self) -> bool:
        """A busy process has sent what the worker has not handled yet (a try's end)."""
        return any(process.unread() for process in self._busy)

    def _grow(self) -> None:
        """Start task processes for the tries that waited longer than their grace, a few at a
        time: a burst of short tries is served by the processes freeing meanwhile."""
        if self._closed:
            return
        count = spawns_to_start(
            size=self._size,
            max_size=self.max_size,
            spawning=len(self._spawns),
            overdue=self._overdue,
            max_parallel=MAX_PARALLEL_SPAWNS,
        )
        for _ in range(count):
            self._start_spawn()

    def _next_waiter(self) -> asyncio.Future[TaskProcess] | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            self._overdue -= waiter.overdue
            waiter.served()
            if not waiter.future.done():
                return waiter.future
        return None

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

    def release(self, process: TaskProcess, hold_for: str = "") -> None:
        """Give back a process that finished its try cleanly. ``hold_for``: keep it for the
        successor the try's finish may claim for this worker (Airflow's mini scheduler: the
        run goes on where it was, instead of behind the tries waiting for a process), under
        that try's ref, until ``acquire(held=...)`` takes it or ``unhold`` gives it back."""
        self._busy.discard(process)
        if process.busy_since and process.ran_s is not None:
            self._durations.observe(time.monotonic() - process.busy_since, process.ran_s)
            process.busy_since, process.ran_s = 0.0, None
        if process.proc.returncode is not None:
            self.discard(process)
            return
        if hold_for:
            process.held_since = time.monotonic()
            self._held[hold_for] = process
            return
        self._give(process)

    def unhold(self, token: str) -> None:
        """The process held under ``token`` is not wanted (no successor was claimed for it):
        back to the waiting tries, or idle."""
        process = self._held.pop(token, None)
        if process is not None:
            process.held_since = 0.0
            if process.proc.returncode is not None:
                self.discard(process)
            else:
                self._give(process)

    def discard_held(self, token: str) -> None:
        """Kill the process held under ``token`` (it runs a try the worker will not keep)."""
        process = self._held.pop(token, None)
        if process is not None:
            process.held_since = 0.0
            self.discard(process)

    def _give(self, process: TaskProcess) -> None:
        """To the first try waiting, else to the idle ones."""
        self._releases += 1  # (one held for a successor that took it came free for nobody)
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(process)
            return
        process.idle_since = time.monotonic()
        self._idle.append(process)

    def discard(self, process: TaskProcess) -> None:
        """Forget a process that was killed or died (an overdue waiter gets another)."""
        self._busy.discard(process)
        process.kill()
        self._size -= 1
        asyncio.get_running_loop().create_task(process.exit_code())
        self._grow()

    async def _spawn_into_pool(self) -> None:
        started_s = time.monotonic()
        try:
            process = await asyncio.wait_for(self._spawn(), SPAWN_TIMEOUT_S)
        except Exception as err:
            self._size -= 1
            log.exception("could not start a task process")
            waiter = self._next_waiter()
            if waiter is not None:
                waiter.set_exception(RuntimeError(f"could not start a task process: {err}"))
            return
        self.release(process)
        if isinstance(process.proc, ForkedProc):
            # A fork is ready in milliseconds and serves its waiter at once, but holds its
            # spawn slot as long as a process started with ``python -m`` would: the pace the
            # pool's growth is tuned to (a pool that forked a process per overdue waiter at
            # once grew by 13 instead of 3 in the 10,000-task fan-out, each importing the DAG
            # file). Cancelled when the pool closes, which stops the process with the others.
            await asyncio.sleep(self._pace_s() - (time.monotonic() - started_s))

    async def _start_process(self) -> tuple[ProcessHandle, socket.socket]:
        """A new task process, forked from the template where there is one, and the worker's
        end of its channel."""
        template = await self._task_template()
        if template is not None:
            try:
                return await template.fork()
            except (RuntimeError, OSError) as err:
                log.warning("could not fork a task process (%s): starting one", err)
        return await start_with_channel("airlane.service.worker.task_process")

    async def _task_template(self) -> ForkTemplate | None:
        """The running template (started on first use), None where there is none: a pool of
        one process has nothing to fork, and a template that failed too often is given up."""
        if self.max_size <= 1 or self._template_failures >= MAX_TEMPLATE_FAILURES:
            return None
        if self._template is None or (self._template.done() and not self._template_alive()):
            self._template = asyncio.get_running_loop().create_task(ForkTemplate.start(self.config))
        try:
            return await asyncio.shield(self._template)
        except Exception as err:
            self._template = None
            self._template_failures += 1
            log.warning("could not start the fork template: %s", err)
            return None

    def _pace_s(self) -> float:
        """How long a spawn takes, as far as the pool's growth is concerned."""
        template = self._template
        if template is None or not template.done() or template.exception() is not None:
            return SPAWN_PACE_S
        return max(SPAWN_PACE_S, template.result().start_s)

    def _template_alive(self) -> bool:
        """Under ``_template.done()``: it started and still forks."""
        template = self._template
        if template is None or template.cancelled() or template.exception() is not None:
            return False
        if template.result().alive:
            return True
        self._template_failures += 1  # it ended under the pool: its next one is counted
        return False

    async def _spawn(self) -> TaskProcess:
        proc, ours = await self._start_process()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        process = TaskProcess(proc, reader, writer, fd=ours.fileno())
        settings = asdict(self.config)
        await handshake(
            reader, writer, settings, "the task process", process.exit_code, process.kill
        )
        return process

    def retire_idle(self) -> None:
        """Stop processes idle for longer than ``idle_s``; give back those held for longer
        than HOLD_MAX_S."""
        stale = time.monotonic() - HOLD_MAX_S
        for token in [t for t, p in self._held.items() if p.held_since < stale]:
            self.unhold(token)
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
        idle, self._idle = self._idle + list(self._held.values()), []
        self._held.clear()
        for process in idle:
            process.kill()
        await asyncio.gather(*(p.proc.wait() for p in idle), return_exceptions=True)
        if self._template is not None:
            self._template.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await (await self._template).close()
