"""Frames between a worker and one of its task processes, over a private socket pair.

A frame is a 4-byte big-endian length and an orjson object. The task process writes with
blocking sends from any thread; when the worker is behind, the socket's buffer fills and the
task process waits (backpressure: output never piles up in the worker's memory).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from typing import Any

import orjson

HEADER = struct.Struct(">I")
#: A frame carries at most a log line piece, rendered fields or XComs (capped elsewhere).
MAX_FRAME_BYTES = 256 * 1024 * 1024


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

    def send(self, message: dict[str, Any]) -> None:
        data = encode(message)
        with self._send_lock:
            self.sock.sendall(data)

    def _read_exactly(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self.sock.recv(size - len(chunks))
            if not chunk:
                raise ChannelClosed("the worker closed the channel")
            chunks += chunk
        return bytes(chunks)

    def receive(self) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._read_exactly(HEADER.size))
        message: dict[str, Any] = orjson.loads(self._read_exactly(size))
        return message
