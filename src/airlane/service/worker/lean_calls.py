"""The worker's Redis calls per try made lean: ``claim_many``, ``finish_many`` and the read of
its queues.

Each call is packed once, by hiredis, and sent on a connection the worker keeps for these
calls (one per call out at once), without redis-py's per-command layers (pool, retry closure,
argument encoding one value at a time): those cost the worker more CPU than the call itself.
The scripts, their arguments and answers are ``Scripts``' own (``queue/scripts``); a script
Redis does not know any more (restarted) is loaded again, as ``Scripts`` does. Connection
errors and timeouts raise as from redis-py (the worker's ``_retrying`` waits them out).

A command is written straight to the connection's stream and its answer read without a timer
of its own: redis-py's write (``asyncio.wait_for``: a task, a future and a timer per call on
Python 3.11) and read (a timer) cost more than the rest of the call. One watch (``CallWatch``)
aborts the connection of a call out longer than the connection's ``socket_timeout`` instead:
the call then raises ConnectionError, as a connection lost does. A connection not connected
yet, or due for its health check, is written to by redis-py as before.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from airlane.queue.scripts import ClaimMany, Delivery, FinishMany, Scripts
from airlane.queue.scripts import packed as pack
from airlane.queue.scripts.wire import ScriptArgs
from airlane.queue.typed import StreamResponse

#: How often the watch looks at the calls out (a call is cut up to this long after its timeout)
WATCH_EVERY_S = 1.0


class LeanCalls:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.client = client
        self.scripts = scripts
        #: connections not in a call now (taken from the client's pool, never given back
        #: while the worker runs; the client's pool closes them with the client)
        self._idle: list[AbstractConnection] = []
        self.watch = CallWatch()

    async def claim_resuming(self, call: ClaimMany) -> list[str | None]:
        """As ``Scripts.claim_resuming``."""
        results = await self._call("claim_many", call.encode(self.scripts.keys))
        return [_claim_answer(result) for result in cast(list[Any], results)]

    async def finish_many(self, call: FinishMany) -> list[Delivery | None]:
        """As ``Scripts.finish_many``."""
        answers = await self._call("finish_many", call.encode(self.scripts.keys))
        return [Delivery.decode(a) for a in cast(list[object], answers)]

    async def read_group(
        self, group: str, consumer: str, streams: dict[str, str], count: int, block_ms: int
    ) -> StreamResponse:
        """As ``typed.xreadgroup``: the entries read, per stream."""
        command: tuple[str | int, ...] = (
            *("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "BLOCK", block_ms),
            *("STREAMS", *streams, *streams.values()),
        )
        reply = cast("dict[str, list[Any]] | list[list[Any]] | None", await self._send(command))
        # a map per stream (RESP3, redis-py's default protocol), else pairs (RESP2)
        found = reply.items() if isinstance(reply, dict) else reply or []
        return [(stream, [_entry(raw) for raw in entries]) for stream, entries in found]

    async def run_all(self, commands: list[tuple[str | int, ...]]) -> None:
        """Commands sent together (a pipeline, not a transaction); the first error answer is
        raised once every answer is read."""
        packed = b"".join(pack(command) for command in commands)
        answers = await self._exchange(packed, len(commands))
        for answer in answers:
            if isinstance(answer, ResponseError):
                raise answer

    async def _call(self, name: str, wire: ScriptArgs) -> object:
        script = self.scripts.registered[name]
        try:
            return await self._evalsha(script.sha, wire)
        except NoScriptError:
            script.sha = await self.client.script_load(script.script)
            return await self._evalsha(script.sha, wire)

    async def _evalsha(self, sha: str, wire: ScriptArgs) -> object:
        return await self._send(("EVALSHA", sha, len(wire.keys), *wire.keys, *wire.args))

    async def _send(self, command: tuple[str | int | float, ...]) -> object:
        """One command's answer (an error answer raised as by redis-py)."""
        packed = pack(command)
        (answer,) = await self._exchange(packed, 1)
        if isinstance(answer, ResponseError):
            raise answer
        return answer

    async def _exchange(self, packed: bytes, replies: int) -> list[object]:
        """Send packed commands and read their ``replies`` answers (error answers as
        ResponseError values: the connection stays in step)."""
        connection = self._idle.pop() if self._idle else await self._connection()
        answers: list[object] = []
        try:
            await _write(connection, packed)
            self.watch.add(connection)
            try:
                for _ in range(replies):
                    answers.append(await _read(connection))
            finally:
                self.watch.discard(connection)
        except BaseException:
            # (redis-py has closed it already on its errors) a call cut short, cancelled,
            # may leave its answer unread on the connection: it is closed, reopened on use
            await connection.disconnect(nowait=True)
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        return answers

    async def _connection(self) -> AbstractConnection:
        pool = self.client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        return cast(AbstractConnection, connection)


async def _write(connection: AbstractConnection, packed: bytes) -> None:
    """Write to the connection's stream; redis-py writes when it connects or checks health."""
    writer = connection._writer
    health_due = connection.health_check_interval and (
        asyncio.get_running_loop().time() > connection.next_health_check
    )
    if writer is None or not connection.is_connected or health_due:
        await connection.send_packed_command(packed)
        return
    transport = writer.transport
    if transport.is_closing():
        raise RedisConnectionError("Connection closed by the server before write")
    writer.write(packed)
    if transport.get_write_buffer_size():  # (the socket took it all: nothing to wait for)
        await writer.drain()


async def _read(connection: AbstractConnection) -> object:
    """One answer, without redis-py's timer (the watch cuts a call that takes too long)."""
    try:
        return cast(object, await connection.read_response(timeout=math.inf))
    except ResponseError as err:
        return err


class CallWatch:
    """The connections in a call, with when each call's time is up (the connection's
    ``socket_timeout`` after it was written); one timer looks at them every
    ``WATCH_EVERY_S`` while any is out, and aborts the connection of a call past its time."""

    def __init__(self) -> None:
        self._due: dict[AbstractConnection, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, connection: AbstractConnection) -> None:
        timeout_s = connection.socket_timeout
        if not timeout_s:
            return
        loop = asyncio.get_running_loop()
        self._due[connection] = loop.time() + timeout_s
        if self._timer is None:
            self._timer = loop.call_later(min(WATCH_EVERY_S, timeout_s), self._look)

    def discard(self, connection: AbstractConnection) -> None:
        self._due.pop(connection, None)

    def _look(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection, due in list(self._due.items()):
            if due <= now:
                del self._due[connection]
                writer = connection._writer
                if writer is not None:
                    writer.transport.abort()  # the read raises ConnectionError
        if self._due:
            shortest = min(cast(float, c.socket_timeout) for c in self._due)
            self._timer = loop.call_later(min(WATCH_EVERY_S, shortest), self._look)


def _entry(raw: list[Any]) -> tuple[str, dict[str, str]]:
    """A stream entry as redis-py gives it: its id and its fields."""
    message_id, flat = raw
    flat = flat or []
    return message_id, dict(zip(flat[::2], flat[1::2], strict=True))


def _claim_answer(result: object) -> str | None:
    """One claim's answer: None (not this worker's), else the try's resume JSON ("" none)."""
    if isinstance(result, bytes):
        return result.decode()
    if isinstance(result, str):
        return result
    return "" if result else None
