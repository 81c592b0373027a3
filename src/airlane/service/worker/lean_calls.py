"""The worker's Redis calls per try made lean: ``claim_many``, ``finish_many`` and the read of
its queues.

Each call is packed once, by hiredis, and sent on a connection the worker keeps for these
calls (one per call out at once), without redis-py's per-command layers (pool, retry closure,
argument encoding one value at a time): those cost the worker more CPU than the call itself.
The scripts, their arguments and answers are ``Scripts``' own (``queue/scripts``); a script
Redis does not know any more (restarted) is loaded again, as ``Scripts`` does. Connection
errors and timeouts raise as from redis-py (the worker's ``_retrying`` waits them out).
"""

from __future__ import annotations

from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError

from airlane.queue.scripts import ClaimMany, Delivery, FinishMany, Scripts
from airlane.queue.scripts.wire import ScriptArgs
from airlane.queue.typed import StreamResponse


class LeanCalls:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.client = client
        self.scripts = scripts
        #: connections not in a call now (taken from the client's pool, never given back
        #: while the worker runs; the client's pool closes them with the client)
        self._idle: list[AbstractConnection] = []

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
        packed = b"".join(hiredis.pack_command(cast(Any, command)) for command in commands)
        connection = self._idle.pop() if self._idle else await self._connection()
        error: ResponseError | None = None
        try:
            await connection.send_packed_command(packed)
            for _ in commands:
                try:
                    await connection.read_response()
                except ResponseError as err:
                    error = error or err
        except BaseException:
            await connection.disconnect(nowait=True)
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        if error is not None:
            raise error

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
        packed = hiredis.pack_command(cast(Any, command))  # (its stub: one-value tuples)
        connection = self._idle.pop() if self._idle else await self._connection()
        try:
            await connection.send_packed_command(packed)
            answer = await connection.read_response()
        except ResponseError:
            self._idle.append(connection)  # an error answer: the connection is fine
            raise
        except BaseException:
            # (redis-py has closed it already on its errors) a call cut short, cancelled,
            # may leave its answer unread on the connection: it is closed, reopened on use
            await connection.disconnect(nowait=True)
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        return cast(object, answer)

    async def _connection(self) -> AbstractConnection:
        pool = self.client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        return cast(AbstractConnection, connection)


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
