"""The template a worker forks its task processes from: it imports Airlane once, then forks a
task process per request, so that each new one starts in milliseconds instead of importing
Airlane again (about 0.35 s of CPU each, more where bytecode is not cached).

Started by the worker's pool as ``python -m airlane.service.worker.task_template <fd>``, its
settings the channel's first frame (as a task process's). It stays single-threaded (a fork
copies only the calling thread) and runs no user code: a DAG file is only ever imported in a
task process. Per request (one byte with the new task process's channel end, SCM_RIGHTS) it
forks a child, which becomes a task process on that channel (``task_process.serve``), and says
``{"t": "forked", "pid"}``; it reaps its children and says ``{"t": "exited", "pid", "code"}``
(the code as ``Popen.returncode`` gives it). It dies with its worker, and its children die
with it (PR_SET_PDEATHSIG), so none outlives the worker.
"""

from __future__ import annotations

import atexit
import gc
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any

from airlane.service.batch_scheduling import enter_batch
from airlane.service.worker.task_channel import ChannelClosed, SyncChannel
from airlane.service.worker.task_process import (
    TaskProcessConfig,
    die_with_parent,
    limit_memory,
    serve,
)


def _child(channel_fd: int, template_pid: int) -> int:
    """In a forked child: become a task process (its own session, its own death signal), its
    settings the channel's first frame, as a task process started with ``python -m``."""
    os.setsid()  # its own process group: the worker kills what a try started with it
    die_with_parent(template_pid)
    channel = SyncChannel(socket.socket(fileno=channel_fd))
    try:
        config = TaskProcessConfig(**channel.receive())
        limit_memory(config.memory_limit_mb)
        serve(config, channel)
    except ChannelClosed:
        return 1
    except SystemExit as stop:
        code = stop.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _fork(channel_fd: int, template: socket.socket, wakeup: tuple[int, int]) -> int:
    template_pid = os.getpid()  # (the child's getppid() is another once the template died)
    pid = os.fork()
    if pid:
        os.close(channel_fd)
        return pid
    # the child: nothing of the template's channel or signals, then never back to its loop
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in wakeup:
            os.close(fd)
        template.close()
        code = _child(channel_fd, template_pid)
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _reap(channel: SyncChannel) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        channel.send({"t": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})


def _serve(template: socket.socket, channel: SyncChannel) -> None:
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(template, select.POLLIN)
    poller.register(wakeup_read, select.POLLIN)
    channel.send({"t": "ready", "pid": os.getpid()})
    while True:
        ready = {fd for fd, _ in poller.poll()}
        if wakeup_read in ready:
            while True:
                try:
                    if not os.read(wakeup_read, 4096):
                        break
                except BlockingIOError:
                    break
            _reap(channel)
        if template.fileno() in ready:
            data, fds, _, _ = socket.recv_fds(template, 1, 1)
            if not data:
                return  # the worker closed the channel
            for fd in fds:
                channel.send(
                    {"t": "forked", "pid": _fork(fd, template, (wakeup_read, wakeup_write))}
                )


def main(argv: list[str]) -> int:
    template = socket.socket(fileno=int(argv[1]))
    channel = SyncChannel(template)
    try:
        settings: dict[str, Any] = channel.receive()
    except ChannelClosed:
        return 1
    config = TaskProcessConfig(**settings)
    die_with_parent(config.worker_pid)
    if config.batch_scheduling:
        enter_batch()  # its forks, the task processes, inherit it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when tries stop
    # what every task process shares stays out of the collector's generations (and unwritten
    # by it: copy-on-write pages stay shared)
    gc.freeze()
    try:
        _serve(template, channel)
    except (ChannelClosed, ConnectionError):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
