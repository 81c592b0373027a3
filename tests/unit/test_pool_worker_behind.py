"""A worker behind its task processes (one has sent a try's end it has not read) starts no
process for the tries waiting: they wait for the worker, not for the processes."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import Any

from airlane.service.worker.pool_growth import overdue
from airlane.service.worker.task_pool import TaskProcess


def test_a_worker_behind_owes_no_process_except_below_the_floor() -> None:
    def owed(saturated: bool, released_meanwhile: bool, below_floor: bool = False) -> bool:
        return overdue(
            saturated=saturated,
            released_meanwhile=released_meanwhile,
            below_floor=below_floor,
            worker_behind=True,
        )

    assert not owed(saturated=False, released_meanwhile=False)
    assert not owed(saturated=True, released_meanwhile=True)
    assert owed(saturated=False, released_meanwhile=True, below_floor=True)


async def test_a_process_has_unread_output_until_the_worker_reads_it() -> None:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    proc: Any = SimpleNamespace(returncode=None, pid=None)
    process = TaskProcess(proc, reader, writer, fd=ours.fileno())
    assert not process.unread()
    theirs.sendall(b"done")
    assert process.unread()  # in the socket
    await asyncio.sleep(0)  # the loop reads it into the stream, not consumed yet
    assert process.unread()
    assert await reader.readexactly(4) == b"done"
    assert not process.unread()
    theirs.sendall(b"more")
    writer.close()
    assert not process.unread()  # ending: nothing more will be read
    theirs.close()


async def test_a_process_left_unread_for_its_log_backlog_does_not_count() -> None:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    proc: Any = SimpleNamespace(returncode=None, pid=None)
    process = TaskProcess(proc, reader, writer, fd=ours.fileno())
    theirs.sendall(b"line")
    process.backlogged = True  # the worker waits for its log writer: tries are not behind it
    assert not process.unread()
    process.backlogged = False
    assert process.unread()
    writer.close()
    theirs.close()
