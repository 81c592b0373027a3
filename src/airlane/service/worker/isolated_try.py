"""Driving one try in a task process: send the request, relay its frames, enforce the import
timeout and ``execution_timeout`` by killing the process, and turn its death into a failed try.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import decode_outcome
from airlane.queue.scripts.finish import REPLAYED, Delivery
from airlane.sdk.state import TaskInstanceState
from airlane.service.worker.task_channel import ChannelClosed, encode, read_frame
from airlane.service.worker.task_pool import TaskPool, TaskProcess

#: After ``execution_timeout`` the task process gets this long to stop the try itself (it
#: cancels it and runs the failure callbacks) before the worker kills it.
KILL_GRACE_S = 2.0
#: What a try's log may hold waiting for Redis before its task process is made to wait.
LOG_BACKLOG_LINES = 4096
LOG_BACKLOG_CHARS = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TryLimits:
    import_timeout_s: float


@dataclass(frozen=True, slots=True)
class IsolatedResult:
    outcome: TaskOutcome
    xcom_pairs: list[str]
    #: the rendered template fields as JSON ("" when none)
    rendered: str
    #: its task has downstream tasks (as its task process says): a success may have a
    #: successor the fast path claims for this worker
    downstream: bool = False
    #: the task process finished the try itself (its request's ``here``): nothing to report
    finished: FinishedHere | None = None
    #: the task process ended under the try (killed, or its timeout): it may have finished
    #: the try itself first (``here``)
    lost: bool = False


@dataclass(frozen=True, slots=True)
class FinishedHere:
    """A try its task process finished (``task_process._Runner._finish_here``)."""

    #: what the finish read for the worker: the successor the task process runs now (claimed,
    #: ``header`` its stamped first log line), an older message to claim, or a replay's mark
    successor: Delivery | None
    header: str = ""


def _finished_here(frame: dict[str, Any]) -> FinishedHere | None:
    if not frame.get("fin"):
        return None
    if frame.get("rep"):
        return FinishedHere(REPLAYED)
    succ = frame.get("succ")
    if succ is None:
        return FinishedHere(None)
    stream, message_id, fields, claimed, ref = succ
    return FinishedHere(Delivery(stream, message_id, fields, claimed, ref), frame.get("hdr", ""))


def exit_message(code: int) -> str:
    """Why a try failed when its task process ended under it."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"task process was killed by {name} during the try (out of memory, or killed)"
    return f"task process exited with code {code} during the try"


def import_timeout_message(fileloc: str, timeout_s: float) -> str:
    return (
        f"DagBag import timeout for {fileloc} after {timeout_s:g}s "
        "(importing the DAG file to run this task); the task process was killed"
    )


def timeout_message(timeout_s: float) -> str:
    return f"AirflowTaskTimeout: execution_timeout of {timeout_s:g}s exceeded"


class TrySink:
    """Where a try's log lines go in the worker, with backpressure: while the log writer has
    too much waiting for Redis, the worker stops reading the task process's channel (which then
    blocks writing), so output never piles up in the worker's memory."""

    def __init__(
        self,
        write: Callable[[str], None],
        waiting: Callable[[], int],
        started: Callable[[], None] = lambda: None,
    ) -> None:
        self._write = write
        self._waiting = waiting  # lines the log writer holds, not yet sent to Redis
        #: called once the try has its task process (the log's flush clock starts then)
        self.started = started
        self._mean_chars = 0.0  # of recent lines: bytes held ~ lines held x this

    def write(self, line: str) -> None:
        self._mean_chars += (len(line) - self._mean_chars) / 16
        self._write(line)

    def full(self) -> bool:
        waiting = self._waiting()
        return waiting >= LOG_BACKLOG_LINES or waiting * self._mean_chars >= LOG_BACKLOG_CHARS

    async def room(self) -> None:
        # Polled: the log writer (another module) has no event for "drained".
        while self.full():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def run_isolated(
    pool: TaskPool,
    request: dict[str, Any],
    sink: TrySink,
    limits: TryLimits,
    first: bool = False,
    held: str = "",
    hold_for: str = "",
    sent: bool = False,
) -> IsolatedResult:
    """Run one try in a task process; the process goes back to the pool only after a clean end.
    ``sent``: the held process runs the try already (its upstream's finish there claimed it).
    ``first``: it goes before the tries waiting for a process; ``held``: it takes the process
    held for it under that ref (TaskPool.acquire). ``hold_for``: a success of a task with
    downstream tasks keeps its process held under that ref, for the successor its finish may
    claim for this worker (TaskPool.release)."""
    process = await pool.acquire(first, held)
    sink.started()
    clean = False
    result: IsolatedResult | None = None
    try:
        result, clean = await _drive(process, request, sink, limits, sent)
        return result
    finally:
        if clean:
            pool.release(process, _held_for(result, hold_for))
        else:
            pool.discard(process)


def _held_for(result: IsolatedResult | None, hold_for: str) -> str:
    """The ref to hold a process under after ``result`` ("": none)."""
    if not hold_for or result is None or not result.downstream:
        return ""
    return hold_for if result.outcome.state is TaskInstanceState.SUCCESS else ""


def _failed(request: dict[str, Any], message: str, lost: bool = False) -> IsolatedResult:
    outcome = TaskOutcome(
        TaskInstanceState.FAILED, request["try_number"], retryable=True, error=message
    )
    return IsolatedResult(outcome, [], "", lost=lost)


class _Phase:
    """Which deadline a try is under: its file's import, or its ``execution_timeout``.

    A process that imported the try's file has said (frame "imported") which of its tasks have
    a timeout; it says "importing" before it imports a file (again: edited since), so a warm
    try costs no frame before its end.
    """

    def __init__(self, process: TaskProcess, request: dict[str, Any], limits: TryLimits) -> None:
        self.process = process
        self.fileloc: str = request["fileloc"]
        self.dag_id: str = request["run"]["dag_id"]
        self.task_id: str = request["task_id"]
        self.limits = limits
        known = process.timeouts.get(self.fileloc)
        self.importing = known is None
        self.imported_file = False  # during this try
        self.timeout_s = None if known is None else self._timeout_in(known)

    def _timeout_in(self, known: dict[str, dict[str, float]]) -> float | None:
        return known.get(self.dag_id, {}).get(self.task_id)

    def delay_s(self) -> float | None:
        """From now until the worker kills the process."""
        if self.importing:
            return self.limits.import_timeout_s
        return self.timeout_s + KILL_GRACE_S if self.timeout_s else None

    def imports(self) -> None:
        self.imported_file = True
        self.process.timeouts.pop(self.fileloc, None)
        self.importing, self.timeout_s = True, None

    def imported(self, known: dict[str, dict[str, float]]) -> None:
        self.process.timeouts[self.fileloc] = known
        self.importing, self.timeout_s = False, self._timeout_in(known)

    def message(self) -> str:
        if self.importing:
            return import_timeout_message(self.fileloc, self.limits.import_timeout_s)
        return timeout_message(self.timeout_s or 0.0)


def _reschedule(deadline: asyncio.Timeout, delay_s: float | None) -> None:
    deadline.reschedule(None if delay_s is None else asyncio.get_running_loop().time() + delay_s)


async def _drive(
    process: TaskProcess, request: dict[str, Any], sink: TrySink, limits: TryLimits, sent: bool
) -> tuple[IsolatedResult, bool]:
    phase = _Phase(process, request, limits)
    if not sent:
        process.writer.write(encode(request))
    try:
        async with asyncio.timeout(phase.delay_s()) as deadline:
            if not sent:
                await process.writer.drain()
            while True:
                frame = await read_frame(process.reader)
                kind = frame["t"]
                if kind == "logs":
                    for line in frame["ls"]:
                        sink.write(line)
                    if sink.full():
                        process.backlogged = True
                        try:
                            await sink.room()
                        finally:
                            process.backlogged = False
                elif kind == "importing":
                    phase.imports()
                    _reschedule(deadline, phase.delay_s())
                elif kind == "imported":
                    phase.imported(frame["to"])
                    _reschedule(deadline, phase.delay_s())
                elif kind == "done":
                    if not frame.get("fin"):  # (a try finished there wrote them)
                        for line in frame.get("ls", ()):  # its closing lines
                            sink.write(line)
                    # a try that imported the DAG file says nothing of the warm ones
                    process.ran_s = None if phase.imported_file else frame.get("w")
                    result = IsolatedResult(
                        decode_outcome(frame["o"]),
                        frame["x"],
                        frame["r"],
                        downstream=bool(frame.get("down")),
                        finished=_finished_here(frame),
                    )
                    return result, not frame.get("retire")
    except TimeoutError:
        process.kill()
        message = phase.message()
        sink.write(message)
        return _failed(request, message, lost=True), False
    except (ChannelClosed, ConnectionError):
        code = await process.exit_code()
        message = exit_message(code)
        sink.write(message)
        return _failed(request, message, lost=True), False
