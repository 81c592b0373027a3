"""A task process: runs its worker's tries one at a time, where the worker can kill them.

Started by the worker's pool (``service/worker/task_pool.py``) as
``python -m airlane.service.worker.task_process <channel fd>``, its settings the channel's first
frame.
It imports DAG files (cached by file signature, one import at a time), renders and executes
tries through ``execute_task``, and sends back over the private channel (never its stdout,
where user code and C extensions write) the try's log lines, rendered fields, XComs to push
and outcome.
Its own fds 1 and 2 are captured into the running try's log. The worker keeps everything that
is fenced in Redis (claim, finish, heartbeat, hand back).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import os
import resource
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import pendulum
import redis

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.queue.codec import dumps, encode_outcome
from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.messages import TaskMessage
from airlane.queue.store import Store
from airlane.sdk.dag import DAG
from airlane.sdk.lines import MAX_LINE_BYTES, LineSplitter, pieces
from airlane.sdk.node import DAGNode
from airlane.sdk.secrets_masker import mask_text
from airlane.sdk.state import TaskInstanceState
from airlane.service.batch_scheduling import enter_batch
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.redis_xcom import RedisXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task
from airlane.service.execution.task_stores import TaskStores
from airlane.service.run_launcher import RedisRunLauncher
from airlane.service.worker.dag_cache import DagCache, DagNotLoadable
from airlane.service.worker.finish_here import FinishHere, WholeLog
from airlane.service.worker.task_channel import ChannelClosed, SyncChannel

TIMEOUT_PREFIX = "AirflowTaskTimeout"
#: closing lines (``_Runner.hold``) past this many characters are sent at once
HELD_MAX_CHARS = 8192
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class TaskProcessConfig:
    redis_url: str
    key_prefix: str
    dags_folder: str | None
    xcom_max_bytes: int
    memory_limit_mb: int
    worker_pid: int
    #: the worker's log line limit: output lines are split into pieces that fit it, so that a
    #: long line is kept whole in pieces instead of cut by the log writer
    max_line_bytes: int = MAX_LINE_BYTES
    #: run under SCHED_BATCH: a try that wakes does not preempt its worker
    #: (service/batch_scheduling.py)
    batch_scheduling: bool = False
    #: the worker's id (its consumer name): a try the worker lets this process finish (its
    #: request's ``here``) is finished and its successor claimed in the worker's name
    worker_id: str = ""
    log_retention_s: int = 0
    #: the most of a try's log (bytes, with the entries' overhead) that this process keeps to
    #: finish the try itself with its whole log; a longer log leaves the finish to the worker
    whole_log_max_bytes: int = 1024 * 1024


@functools.lru_cache(maxsize=4096)
def _parse_date(text: str) -> pendulum.DateTime:
    return pendulum.parse(text)  # type: ignore[return-value]


def _opt_date(text: str | None) -> pendulum.DateTime | None:
    return _parse_date(text) if text else None


def _iso(when: pendulum.DateTime | None) -> str | None:
    return when.isoformat() if when is not None else None


def try_request(msg: TaskMessage, info: RunInfo, resume_json: str) -> dict[str, Any]:
    """The request frame of one try, for the task process that runs it."""
    return request_with_run(msg, run_info_to_wire(info), resume_json)


def request_with_run(msg: TaskMessage, run: dict[str, Any], resume_json: str) -> dict[str, Any]:
    """``try_request`` with the run as ``run_info_to_wire`` gives it (the worker keeps it per
    run: never changed, only encoded)."""
    return {
        "fileloc": msg.fileloc,
        "task_id": msg.task_id,
        "map_index": msg.map_index,
        "try_number": msg.try_number,
        "max_tries": msg.max_tries,
        "reschedule_started_at_s": msg.reschedule_started_at_s,
        "resume_json": resume_json,
        "run": run,
    }


def run_info_to_wire(info: RunInfo) -> dict[str, Any]:
    """What the worker sends of a run (dates as ISO 8601)."""
    return {
        "dag_id": info.dag_id,
        "run_id": info.run_id,
        "logical_date": _iso(info.logical_date),
        "data_interval_start": _iso(info.data_interval_start),
        "data_interval_end": _iso(info.data_interval_end),
        "run_after": _iso(info.run_after),
        "conf": info.conf,
        "run_type": info.run_type,
        "asset_events": list(info.asset_events),
    }


def run_info_from_wire(data: dict[str, Any]) -> RunInfo:
    return RunInfo(
        dag_id=data["dag_id"],
        run_id=data["run_id"],
        logical_date=_opt_date(data["logical_date"]),
        data_interval_start=_opt_date(data["data_interval_start"]),
        data_interval_end=_opt_date(data["data_interval_end"]),
        run_after=_opt_date(data.get("run_after")),
        conf=data["conf"],
        run_type=data["run_type"],
        asset_events=tuple(data.get("asset_events") or ()),
    )


def file_timeouts(dags: dict[str, DAG]) -> dict[str, dict[str, float]]:
    """The ``execution_timeout`` in seconds of every task of a file's DAGs that has one."""
    found: dict[str, dict[str, float]] = {}
    for dag_id, dag in dags.items():
        per_task: dict[str, float] = {}
        for task_id, node in dag.task_dict.items():
            timeout = getattr(node, "execution_timeout", None)
            if timeout:
                per_task[task_id] = timeout.total_seconds()
        if per_task:
            found[dag_id] = per_task
    return found


class _Output:
    """Fds 1 and 2 go to a pipe; a thread forwards its lines to the running try's log.

    At the end of a try, ``drain`` forwards what is still in the pipe from the calling thread:
    the lock makes sure the thread is not half-way through forwarding a chunk, so when the
    pipe is empty everything written before has been forwarded (no round trip to the thread).
    """

    def __init__(self, send_line: Callable[[str], None], max_line_bytes: int) -> None:
        self.send_line = send_line
        self._lock = threading.Lock()
        self._splitter = LineSplitter(max_bytes=max_line_bytes)
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        self._fd = read_fd
        #: drain's own (a poll object is not shared between threads): whether the pipe holds
        #: anything, without a read that fails (raising) when it does not
        self._pending = select.poll()
        self._pending.register(read_fd, select.POLLIN)
        threading.Thread(target=self._forward, daemon=True).start()

    def _read_available(self) -> None:
        """Under the lock: forward what the pipe holds now."""
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            for line in self._splitter.feed(chunk):
                self.send_line(line)

    def _forward(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while True:
            poller.poll()
            with self._lock:
                self._read_available()

    def drain(self) -> None:
        """Forward everything written to fds 1 and 2 so far (a last partial line too)."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        with self._lock:
            if self._pending.poll(0):
                self._read_available()
            for line in self._splitter.close():
                self.send_line(line)


class _Runner:
    def __init__(self, config: TaskProcessConfig, channel: SyncChannel) -> None:
        self.config = config
        self.channel = channel
        self.keys = Keys(config.key_prefix)
        # A stat per try (a few microseconds): a file edited since the last try is re-imported.
        self.dags = DagCache(
            config.dags_folder,
            recheck_s=0.0,
            before_import=self._importing,
            import_context=contextvars.copy_context(),  # DAG files import without the stores
        )
        self._imported = False  # set when the try's DAG lookup imports its file
        self.sync_client = redis.Redis.from_url(config.redis_url, decode_responses=True)
        self.stores = TaskStores.build(self.sync_client, self.keys, config.redis_url)
        #: every try runs in a copy of this: the stores installed once, not per try
        self.try_context = contextvars.copy_context()
        self._installed = self.stores.installed()
        self.try_context.run(self._installed.__enter__)
        self.launcher: RedisRunLauncher | None = None
        #: the running try's log, while this process may finish the try itself
        self.whole_log: WholeLog | None = None
        #: held while a line is sent and kept, and while a try ends (its finish, the next
        #: try's log begun, the ``done`` frame): a line another thread sends meanwhile goes to
        #: the next try, in its worker's log as in this process's
        self._log_lock = threading.Lock()
        self.finish_here = FinishHere(
            self.sync_client, self.keys, config.worker_id, config.log_retention_s
        )
        self.output = _Output(self.log, config.max_line_bytes)
        self.started_s = 0.0  # when the current try's request came (monotonic)
        #: the last request's run (its wire dict, and that parsed)
        self._last_run: tuple[dict[str, Any], RunInfo] | None = None
        #: the running try's closing lines not sent yet (``hold``), and their characters
        self._held: list[str] = []
        self._held_chars = 0

    def log(self, line: str) -> None:
        # Secrets are masked here, in the task's process, before a line leaves it. A line is
        # sent at once, not held to travel with others: the last lines before user code ends
        # the process abruptly (os._exit, a crash in a C extension) are the ones that explain it.
        # Only the try's closing lines wait (``hold``), and never for user code.
        sent = pieces(mask_text(line), self.config.max_line_bytes)
        with self._log_lock:  # (kept in the order sent: its worker writes them so)
            if self.whole_log is not None:
                self.whole_log.keep(sent)
            held = self._held
            if held:  # (they go first)
                self._held, self._held_chars = [], 0
                sent = held + sent
            self.channel.send({"t": "logs", "ls": sent})

    def hold(self, line: str) -> None:
        """A closing line of the try (sdk.context.log_closing): sent with its ``done`` frame,
        or with the next line before it; many of them are sent at once."""
        kept = pieces(mask_text(line), self.config.max_line_bytes)
        with self._log_lock:
            if self.whole_log is not None:
                self.whole_log.keep(kept)
            self._held += kept
            self._held_chars += sum(len(piece) for piece in kept)
            if self._held_chars > HELD_MAX_CHARS:
                self._send_held()

    def release(self) -> None:
        """Send the closing lines now (user code runs next)."""
        with self._log_lock:
            self._send_held()

    def _send_held(self) -> None:
        """Under the log lock: the held lines as a ``logs`` frame."""
        if self._held:
            self.channel.send({"t": "logs", "ls": self._held})
            self._held, self._held_chars = [], 0

    def _importing(self, fileloc: str) -> None:
        """Before a file is (re)imported: the worker waits for it with the import timeout."""
        self._imported = True
        self.channel.send({"t": "importing"})

    def _did_import(self) -> bool:
        return self._imported

    async def _node(self, fileloc: str, dag_id: str, task_id: str) -> tuple[DAG, DAGNode]:
        self._imported = False
        try:
            dag = await self.dags.get(fileloc, dag_id)
        finally:
            if self._did_import():
                # what the worker knows of this file from now on (until its next import)
                loaded = self.dags.loaded(fileloc)
                self.channel.send({"t": "imported", "to": file_timeouts(loaded)})
        node = dag.task_dict.get(task_id)
        if node is None:
            raise DagNotLoadable(f"task {task_id} is not in DAG {dag_id} any more")
        return dag, node

    async def run(self, request: dict[str, Any], chained: bool = False) -> dict[str, Any] | None:
        """Run one try; the request of the successor this process starts next, if any
        (``chained``: such a successor, whose log began with its upstream's end)."""
        if not chained:
            here: dict[str, str] | None = request.get("here")
            with self._log_lock:
                self.whole_log = self._whole_log(here)
        info = self._run_info(request["run"])
        task_id, map_index = request["task_id"], request["map_index"]
        try_number = request["try_number"]
        try:
            dag, node = await self._node(request["fileloc"], info.dag_id, task_id)
        except DagNotLoadable as err:
            self.log(str(err))
            failed = TaskOutcome(TaskInstanceState.FAILED, try_number, error=str(err))
            self.channel.send({"t": "done", "o": encode_outcome(failed), "x": [], "r": ""})
            return None
        if self.launcher is None:
            self.launcher = RedisRunLauncher(Store(connect(self.config.redis_url), self.keys))
        xcoms = RedisXComs(self.sync_client, self.keys, info.dag_id, info.run_id, task_id)
        rendered: dict[str, Any] = {}
        env = ExecutionEnv(
            xcoms=xcoms,
            log=self.log,
            xcom_max_bytes=self.config.xcom_max_bytes,
            run_launcher=self.launcher,
            on_rendered=rendered.update,
            main_thread=True,
            closing=self,
        )
        task_request = TaskRequest(
            info,
            TIKey(task_id, map_index),
            try_number,
            request["max_tries"],
            request["reschedule_started_at_s"],
            request.get("resume_json", ""),
        )
        outcome = await execute_task(node, dag, task_request, env)
        self.output.drain()
        # A timed-out callable may still run in its thread: this process is not reused.
        retire = (outcome.error or "").startswith(TIMEOUT_PREFIX)
        done: dict[str, Any] = {
            "t": "done",
            "o": encode_outcome(outcome),
            "x": xcoms.pending_pairs(),
            "r": dumps(rendered) if rendered else "",
            "retire": retire,
            # whether a success may have a successor for the worker to start (it keeps
            # this process for it: TaskPool.release)
            "down": bool(node.downstream_task_ids),
            # how long the try kept this process working (the worker's pool grows on it)
            "w": time.monotonic() - self.started_s,
        }
        finishes_here = (
            outcome.state is TaskInstanceState.SUCCESS and node.downstream_task_ids and not retire
        )
        with self._log_lock:
            lines = self.whole_log.lines if self.whole_log is not None else None
            successor = None
            if lines is not None and finishes_here:
                claimed = self.finish_here.finish(request, outcome, lines, done)
                if claimed is not None:  # (its run: its upstream's)
                    successor = request_with_run(claimed.message, request["run"], "")
                    successor["here"] = claimed.here
            self.whole_log = self._whole_log(successor["here"] if successor else None)
            if self._held:  # (the try's closing lines: written before its end)
                done["ls"] = self._held
                self._held, self._held_chars = [], 0
            self.channel.send(done)
        return successor

    def _run_info(self, run: dict[str, Any]) -> RunInfo:
        """The run of a request: parsed again only when it is not the last one's (a successor
        started here shares its upstream's)."""
        last = self._last_run
        if last is not None and last[0] is run:
            return last[1]
        info = run_info_from_wire(run)
        self._last_run = (run, info)
        return info

    def _whole_log(self, here: dict[str, str] | None) -> WholeLog | None:
        if here is None:
            return None
        return WholeLog(here["hdr"], self.config.whole_log_max_bytes)


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when its parent (the worker, or the template it was forked from)
    dies (Linux), so no try outlives its worker."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


def limit_memory(limit_mb: int) -> None:
    if limit_mb > 0:
        limit = limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(config: TaskProcessConfig, channel: SyncChannel) -> None:
    """Run tries until the worker closes the channel."""
    runner = _Runner(config, channel)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # what the process's startup made lives as long as it does: out of the collector's
    # generations, a full collection (user code may cause them) no longer walks it each time
    gc.freeze()
    channel.send({"t": "ready", "pid": os.getpid()})
    loop.run_until_complete(_serve_tries(runner))


async def _serve_tries(runner: _Runner) -> None:
    """One try after another on one running loop (no loop start and stop per try). Nothing
    runs on the loop while this waits for the next request, as when the loop was stopped.
    A try may be followed by its successor, which its finish here claimed: no request."""
    while True:
        try:
            request: dict[str, Any] | None = runner.channel.receive()
        except ChannelClosed:
            return
        chained = False
        while request is not None:
            runner.started_s = time.monotonic()
            run = runner.run(request, chained)
            request = await _InContext(run, runner.try_context.copy())
            chained = True


class _InContext(Generic[R]):
    """Awaits ``coro`` with each of its steps run in ``context`` (as a task made with that
    context would run it), without a task: a try that never waits (a sync ``execute``) ends
    within the first step, with no loop iteration. What it waits on is passed up to the task
    awaiting this, and what that task is sent or thrown (a cancellation) passed down."""

    def __init__(self, coro: Coroutine[Any, Any, R], context: contextvars.Context) -> None:
        self.coro, self.context = coro, context

    def __await__(self) -> Generator[Any, Any, R]:
        step, arg = self.coro.send, None
        while True:
            try:
                waiting_on = self.context.run(step, arg)
            except StopIteration as end:
                return cast(R, end.value)
            try:
                step, arg = self.coro.send, (yield waiting_on)
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as err:
                step, arg = self.coro.throw, err


def main(argv: list[str]) -> int:
    channel = SyncChannel(socket.socket(fileno=int(argv[1])))
    try:
        config = TaskProcessConfig(**channel.receive())
    except ChannelClosed:
        return 1
    die_with_parent(config.worker_pid)
    limit_memory(config.memory_limit_mb)
    if config.batch_scheduling:
        enter_batch()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when tries stop
    serve(config, channel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
