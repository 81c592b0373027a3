"""Parsing DAG files in child processes, each with a timeout.

A file that raises, has a syntax error, exits, crashes the interpreter or hangs becomes an
import error; the other files are not affected. Children are forked from a forkserver that
has Airlane preloaded, so a file costs a fork rather than an interpreter start.

Each child is bounded (``ImportLimits``): its address space (``RLIMIT_AS``), the output kept
from the file (head and tail, in the child: the parent never sees more) and the size of its
result. It runs in a session of its own, and the whole process group is killed when the
import ends, so processes the DAG file forks do not outlive it (one that starts a session of
its own escapes this; a cgroup would be needed for that).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

from airlane.dag_loader.bounded_text import BoundedText, clip_middle
from airlane.dag_loader.models import FileResult, ImportErrorInfo

DEFAULT_TIMEOUT_S = 30.0
#: a child's result (its serialized DAGs) larger than this is refused, not read
MAX_RESULT_BYTES = 128 * 1024 * 1024
MEMORY_SETTING = "AIRLANE_DAG_IMPORT_MEMORY_MB"


@dataclass(frozen=True, slots=True)
class ImportLimits:
    #: the address space of an import child (0: no limit); generous, since importing pandas
    #: or a provider maps far more than it touches
    memory_mb: int = 4096
    #: what is kept of the file's output, and of each error's message and traceback
    output_max_chars: int = 64 * 1024


_PRELOAD = ["airlane.dag_loader.isolated", "airlane.dag_loader.importer", "airlane.sdk", "pendulum"]


def parse_in_this_process(path: str, dags_folder: str | None) -> dict[str, Any]:
    """Import ``path`` and return its serialized DAGs and errors as JSON-ready data."""
    from airlane.dag_loader.importer import load_dags
    from airlane.dag_loader.serialize import serialize_dag

    dags, errors = load_dags(path, dags_folder)
    serialized = []
    for dag in dags:
        relative = os.path.relpath(path, dags_folder) if dags_folder else os.path.basename(path)
        try:
            serialized.append(serialize_dag(dag, relative_fileloc=relative))
        except Exception as err:
            errors.append(
                ImportErrorInfo(path, dag.lineno, f"cannot serialize DAG {dag.dag_id}: {err}")
            )
    return {"dags": serialized, "errors": [e.to_json() for e in errors]}


def _child_main(
    path: str, dags_folder: str | None, conn: Connection, limits: ImportLimits, alive: Connection
) -> None:
    """Runs in the child: a session of its own, bounded memory and output; parse, send, exit."""
    os.setsid()
    _die_with_parent(alive)
    if limits.memory_mb > 0:
        size = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    captured = BoundedText(limits.output_max_chars)
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            payload = parse_in_this_process(path, dags_folder)
        except BaseException as err:  # the file may raise anything, even KeyboardInterrupt
            payload = {
                "dags": [],
                "errors": [
                    {"filename": path, "lineno": None, "message": f"{type(err).__name__}: {err}"}
                ],
            }
    payload["errors"] = [_bounded_error(e, path, limits) for e in payload["errors"]]
    payload["output"] = captured.getvalue()
    conn.send_bytes(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS))
    conn.close()


def _die_with_parent(alive: Connection) -> None:
    """In a session of its own, the child would outlive a parent stopped by Ctrl-C or SIGKILL
    (the forkserver stays while any child lives): the parent holds the other end of ``alive``,
    whose end of file means the parent is gone, and then the child's whole group goes."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv_bytes()
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _bounded_error(error: dict[str, Any], path: str, limits: ImportLimits) -> dict[str, Any]:
    message = str(error.get("message", ""))
    if message.startswith("MemoryError") and limits.memory_mb > 0:
        message = (
            f"MemoryError: importing {path} hit the memory limit of DAG imports,"
            f" {limits.memory_mb} MB ({MEMORY_SETTING})"
        )
    return {
        **error,
        "message": clip_middle(message, limits.output_max_chars),
        "traceback": clip_middle(str(error.get("traceback", "")), limits.output_max_chars),
    }


@dataclass
class _Job:
    path: str
    process: Any
    conn: Connection
    deadline: float
    started: float


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


@dataclass(frozen=True)
class _Batch:
    """What every child of one ``parse_files`` call shares."""

    ctx: Any
    dags_folder: str | None
    timeout_s: float
    limits: ImportLimits
    #: the read end of a pipe whose write end only the parent holds (see _die_with_parent)
    alive: Connection


def _start(batch: _Batch, path: str) -> _Job:
    receiver, sender = batch.ctx.Pipe(duplex=False)
    process = batch.ctx.Process(
        target=_child_main,
        args=(path, batch.dags_folder, sender, batch.limits, batch.alive),
        daemon=True,
    )
    process.start()
    sender.close()
    now = time.monotonic()
    return _Job(path, process, receiver, now + batch.timeout_s, now)


#: how soon a cancelled parse_files stops its imports
CANCEL_CHECK_S = 0.2


def _kill_group(job: _Job) -> None:
    """The child and whatever it forked: its session's process group goes, whole."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job.process.pid, signal.SIGKILL)
    if job.process.exitcode is None:
        job.process.kill()  # in case it was stopped before its setsid()
    job.process.join()


def _failed(job: _Job, message: str) -> FileResult:
    duration = time.monotonic() - job.started
    return FileResult(job.path, (), (ImportErrorInfo(job.path, None, message),), duration)


def _finish(job: _Job, timed_out: bool, timeout_s: float, limits: ImportLimits) -> FileResult:
    if timed_out:
        _kill_group(job)
        job.conn.close()
        return _failed(
            job,
            f"Timeout: importing the file took longer than {timeout_s:g} seconds; it was stopped",
        )
    try:
        raw = job.conn.recv_bytes(MAX_RESULT_BYTES)
    except (EOFError, OSError) as err:
        _kill_group(job)
        # multiprocessing's refusal of a message over maxlength, which it leaves unread
        if isinstance(err, OSError) and "bad message length" in str(err):
            return _failed(job, f"The import's result exceeds {MAX_RESULT_BYTES:,} bytes")
        message = f"The import process exited with code {job.process.exitcode} without a result"
        if limits.memory_mb > 0:
            message += f" (its memory limit: {limits.memory_mb} MB, {MEMORY_SETTING})"
        return _failed(job, message)
    finally:
        job.conn.close()
    _kill_group(job)
    payload = orjson.loads(raw)
    errors = tuple(ImportErrorInfo.from_json(e) for e in payload["errors"])
    duration = time.monotonic() - job.started
    return FileResult(job.path, tuple(payload["dags"]), errors, duration, payload.get("output", ""))


def parse_files(
    paths: Sequence[str],
    dags_folder: str | None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    concurrency: int | None = None,
    limits: ImportLimits | None = None,
    cancel: threading.Event | None = None,
) -> list[FileResult]:
    """Parse every file in its own child process, ``concurrency`` at a time (blocking).

    Setting ``cancel`` stops the imports under way and raises ImportsCancelled within
    ``CANCEL_CHECK_S`` (a service that is stopping does not wait out a hanging file).
    """
    if not paths:
        return []
    ctx = _context()
    alive, parent_end = ctx.Pipe(duplex=False)
    batch = _Batch(ctx, dags_folder, timeout_s, limits or ImportLimits(), alive)
    try:
        return _run_all(batch, list(paths), concurrency or max(2, (os.cpu_count() or 2)), cancel)
    finally:
        parent_end.close()
        alive.close()


class ImportsCancelled(Exception):
    """``parse_files`` was cancelled; the imports under way were stopped."""


def _run_all(
    batch: _Batch, paths: list[str], concurrency: int, cancel: threading.Event | None
) -> list[FileResult]:
    pending = list(paths)
    running: list[_Job] = []
    results: dict[str, FileResult] = {}
    while pending or running:
        if cancel is not None and cancel.is_set():
            for job in running:
                _kill_group(job)
                job.conn.close()
            raise ImportsCancelled
        while pending and len(running) < concurrency:
            running.append(_start(batch, pending.pop(0)))
        wait_s = max(0.0, min(job.deadline for job in running) - time.monotonic())
        if cancel is not None:
            wait_s = min(wait_s, CANCEL_CHECK_S)
        ready = multiprocessing.connection.wait([job.conn for job in running], timeout=wait_s)
        now = time.monotonic()
        for job in list(running):
            if job.conn in ready or now >= job.deadline:
                timed_out = job.conn not in ready
                results[job.path] = _finish(job, timed_out, batch.timeout_s, batch.limits)
                running.remove(job)
    return [results[p] for p in paths]
