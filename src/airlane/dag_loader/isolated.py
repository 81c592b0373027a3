"""Parsing DAG files in child processes, each with a timeout.

A file that raises, has a syntax error, exits, crashes the interpreter or hangs becomes an
import error; the other files are not affected. Children are forked from a forkserver that
has Airlane preloaded, so a file costs a fork rather than an interpreter start.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import multiprocessing.connection
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

from airlane.dag_loader.models import FileResult, ImportErrorInfo

DEFAULT_TIMEOUT_S = 30.0
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


def _child_main(path: str, dags_folder: str | None, conn: Connection) -> None:
    """Runs in the child: silence the file's output, parse, send the result, exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    captured = io.StringIO()
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
    payload["output"] = captured.getvalue()[-10000:]
    conn.send_bytes(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS))
    conn.close()


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


def _start(ctx: Any, path: str, dags_folder: str | None, timeout_s: float) -> _Job:
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_main, args=(path, dags_folder, sender), daemon=True)
    process.start()
    sender.close()
    now = time.monotonic()
    return _Job(path, process, receiver, now + timeout_s, now)


def _finish(job: _Job, timed_out: bool, timeout_s: float) -> FileResult:
    duration = time.monotonic() - job.started
    if timed_out:
        job.process.kill()
        job.process.join()
        job.conn.close()
        message = (
            f"Timeout: importing the file took longer than {timeout_s:g} seconds; it was stopped"
        )
        return FileResult(job.path, (), (ImportErrorInfo(job.path, None, message),), duration)
    try:
        payload = orjson.loads(job.conn.recv_bytes())
    except (EOFError, OSError):
        job.process.join()
        message = f"The import process exited with code {job.process.exitcode} without a result"
        return FileResult(job.path, (), (ImportErrorInfo(job.path, None, message),), duration)
    finally:
        job.conn.close()
    job.process.join()
    errors = tuple(ImportErrorInfo.from_json(e) for e in payload["errors"])
    return FileResult(job.path, tuple(payload["dags"]), errors, duration, payload.get("output", ""))


def parse_files(
    paths: Sequence[str],
    dags_folder: str | None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    concurrency: int | None = None,
) -> list[FileResult]:
    """Parse every file in its own child process, ``concurrency`` at a time (blocking)."""
    if not paths:
        return []
    ctx = _context()
    limit = concurrency or max(2, (os.cpu_count() or 2))
    pending = list(paths)
    running: list[_Job] = []
    results: dict[str, FileResult] = {}
    while pending or running:
        while pending and len(running) < limit:
            running.append(_start(ctx, pending.pop(0), dags_folder, timeout_s))
        wait_s = max(0.0, min(job.deadline for job in running) - time.monotonic())
        ready = multiprocessing.connection.wait([job.conn for job in running], timeout=wait_s)
        now = time.monotonic()
        for job in list(running):
            if job.conn in ready or now >= job.deadline:
                results[job.path] = _finish(job, job.conn not in ready, timeout_s)
                running.remove(job)
    return [results[p] for p in paths]
