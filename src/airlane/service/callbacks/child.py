"""Running one callback child process and reading its result pipe, all on the event loop.

The result pipe is read while the child runs (``loop.add_reader`` on a non-blocking fd), so a
child writing more than a pipe buffer (64 KiB) never blocks on a parent that waits for it to
exit. Once the child has exited, what it wrote is in the pipe: it is drained without waiting
for end of file, which a grandchild the user's callback forked (holding the write end) would
put off for ever. On timeout the child is killed and the pipe closed; no thread is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence

#: what is read of a child's result at most (its errors are cut short by the child itself)
RESULT_MAX_BYTES = 4 * 1024 * 1024
_CHUNK = 65536


class _PipeReader:
    """Collects what arrives on a non-blocking read fd, from the event loop."""

    def __init__(self, read_fd: int) -> None:
        self.fd = read_fd
        self.data = bytearray()
        self.loop = asyncio.get_running_loop()
        os.set_blocking(read_fd, False)
        self.loop.add_reader(read_fd, self._readable)
        self.open = True

    def _readable(self) -> None:
        self.drain()

    def drain(self) -> None:
        """Read what is in the pipe now, without blocking."""
        while self.open:
            try:
                chunk = os.read(self.fd, _CHUNK)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.close()  # end of file: nothing more will come
                return
            if len(self.data) < RESULT_MAX_BYTES:
                self.data += chunk[: RESULT_MAX_BYTES - len(self.data)]

    def close(self) -> None:
        if self.open:
            self.open = False
            self.loop.remove_reader(self.fd)
            os.close(self.fd)


async def run_child(
    argv: Sequence[str], stdin: bytes, timeout_s: float
) -> tuple[bytes, int | None] | None:
    """Run ``argv`` with ``{fd}`` in it replaced by the result pipe's write end; what the child
    wrote there and its exit code, or None when it did not exit within ``timeout_s``."""
    read_fd, write_fd = os.pipe()
    try:
        reader = _PipeReader(read_fd)
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *(arg.replace("{fd}", str(write_fd)) for arg in argv),
                stdin=asyncio.subprocess.PIPE,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        try:
            await asyncio.wait_for(proc.communicate(stdin), timeout_s)
        except TimeoutError:
            await _kill(proc)
            return None
        except asyncio.CancelledError:
            await _kill(proc)  # the role stops: the job is run again later
            raise
        reader.drain()  # the child has exited: all it wrote is in the pipe
        return bytes(reader.data), proc.returncode
    finally:
        reader.close()


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
