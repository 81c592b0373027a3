"""Frames between a worker and one of its task processes, over a private socket pair.

A frame is a 4-byte big-endian length and an orjson object. The task process writes with
blocking sends from any thread; when the worker is behind, the socket's buffer fills and the
task process waits (backpressure: output never piles up in the worker's memory).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

HEADER = struct.Struct(">I")
#: A frame carries at most a log line piece, rendered fields or XComs (capped elsewhere).
MAX_FRAME_BYTES = 256 * 1024 * 1024
#: what the task process asks of its socket at once (a try's request fits)
RECV_BYTES = 64 * 1024


async def start_with_channel(module: str) -> tuple[asyncio.subprocess.Process, socket.socket]:
    """``python -m <module> <fd>`` in a session of its own, ``fd`` its end of a new socket pair
    (the channel); the process and the worker's end."""
    ours, theirs = socket.socketpair()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            str(theirs.fileno()),
            pass_fds=(theirs.fileno(),),
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        theirs.close()
    return proc, ours


async def handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    settings: dict[str, Any],
    what: str,
    exit_code: Callable[[], Awaitable[int | None]],
    kill: Callable[[], None],
) -> None:
    """Send a new process ``what`` its settings over its channel, not on its command line
    (anyone can read that with ps, and the Redis URL may hold a password), and wait for its
    "ready"; a RuntimeError naming it when it exits or says something else."""
    writer.write(encode(settings))
    try:
        frame = await read_frame(reader)
    except ChannelClosed:
        code = await exit_code()
        raise RuntimeError(f"{what} exited with code {code} at start") from None
    if frame.get("t") != "ready":
        kill()
        raise RuntimeError(f"unexpected first frame from {what}: {frame}")


class ChannelClosed(EOFError):
    """The other side closed the channel (or the process behind it ended)."""


def encode(message: dict[str, Any]) -> bytes:
    body = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next frame; raises ``ChannelClosed`` at the end of the stream."""
    try:
        header = await reader.readexactly(HEADER.size)
        (size,) = HEADER.unpack(header)
        if size > MAX_FRAME_BYTES:
            raise ChannelClosed(f"frame of {size} bytes refused")
        body = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError) as err:
        raise ChannelClosed(str(err)) from None
    message: dict[str, Any] = orjson.loads(body)
    return message


class SyncChannel:
    """The task process's end: blocking, thread-safe sends; receives from one thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        #: received, not yet returned: a frame's header and body usually come in one recv
        self._received = bytearray()

    def send(self, message: dict[str, Any]) -> None:
        data = encode(message)
        with self._send_lock:
            self.sock.sendall(data)

    def _read_exactly(self, size: int) -> bytes:
        received = self._received
        while len(received) < size:
            chunk = self.sock.recv(max(size - len(received), RECV_BYTES))
            if not chunk:
                raise ChannelClosed("the worker closed the channel")
            received += chunk
        data = bytes(received[:size])
        del received[:size]
        return data

    def receive(self) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._read_exactly(HEADER.size))
        message: dict[str, Any] = orjson.loads(self._read_exactly(size))
        return message
