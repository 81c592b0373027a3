"""The callbacks role's child process and in-progress mark, without arq: the result pipe is
read while the child runs and never waits on a grandchild; the mark is renewed at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from typing import Any

from airlane.service.callbacks.callback_process import ERROR_MAX_CHARS, cut_error
from airlane.service.callbacks.child import run_child
from airlane.service.callbacks.in_progress import renewing


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code, "{fd}"]


def _threads() -> int:
    """Threads other than asyncio's child watchers (one per child, until it exits)."""
    return sum(not t.name.startswith("asyncio-waitpid") for t in threading.enumerate())


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_result_larger_than_a_pipe_buffer_is_read_while_the_child_runs() -> None:
    code = "import os, sys\nwith os.fdopen(int(sys.argv[1]), 'wb') as f: f.write(b'x' * 300_000)"
    outcome = await run_child(_python(code), b"", timeout_s=10)
    assert outcome is not None, "the child blocked on a full pipe until its timeout"
    raw, returncode = outcome
    assert (len(raw), returncode) == (300_000, 0)


async def test_a_grandchild_holding_the_pipe_does_not_hold_the_result() -> None:
    code = (
        "import os, subprocess, sys\n"
        "fd = int(sys.argv[1])\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " pass_fds=(fd,))\n"
        "os.write(fd, str(p.pid).encode())\n"
    )
    threads = _threads()
    fds = _open_fds()
    outcome = await asyncio.wait_for(run_child(_python(code), b"", timeout_s=30), 10)
    assert outcome is not None
    os.kill(int(outcome[0]), signal.SIGKILL)
    assert _threads() == threads  # no thread left blocked on the pipe
    assert _open_fds() == fds


async def test_a_child_past_its_timeout_is_killed_and_its_pipe_closed() -> None:
    fds = _open_fds()
    code = "import time; time.sleep(60)"
    assert await run_child(_python(code), b"", timeout_s=0.3) is None
    assert _open_fds() == fds


def test_the_child_cuts_each_error_short() -> None:
    assert cut_error("boom") == "boom"
    long = cut_error("x" * 100_000)
    assert len(long) <= ERROR_MAX_CHARS
    assert long.endswith("(100000 chars)")


class _Client:
    def __init__(self) -> None:
        self.renewals: list[tuple[str, int]] = []
        self.third = asyncio.Event()

    async def pexpire(self, key: str, ttl_ms: int) -> bool:
        self.renewals.append((key, ttl_ms))
        if len(self.renewals) == 3:
            self.third.set()
        return True


async def test_the_in_progress_mark_is_renewed_on_entry_then_periodically_until_exit() -> None:
    client: Any = _Client()
    async with renewing(client, "arq:in-progress:j", ttl_s=10, every_s=0.01):
        assert client.renewals == [("arq:in-progress:j", 10_000)]  # before any await inside
        await asyncio.wait_for(client.third.wait(), 5)
    count = len(client.renewals)
    await asyncio.sleep(0.05)
    assert len(client.renewals) == count
