"""The worker's two calls per try, ``claim_many`` and ``finish_many``, made lean.

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


class ScriptCalls:
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

    async def _call(self, name: str, wire: ScriptArgs) -> object:
        script = self.scripts.registered[name]
        try:
            return await self._evalsha(script.sha, wire)
        except NoScriptError:
            script.sha = await self.client.script_load(script.script)
            return await self._evalsha(script.sha, wire)

    async def _evalsha(self, sha: str, wire: ScriptArgs) -> object:
        command: Any = ("EVALSHA", sha, len(wire.keys), *wire.keys, *wire.args)
        packed = hiredis.pack_command(command)  # (its stub takes one-value tuples only)
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


def _claim_answer(result: object) -> str | None:
    """One claim's answer: None (not this worker's), else the try's resume JSON ("" none)."""
    if isinstance(result, bytes):
        return result.decode()
    if isinstance(result, str):
        return result
    return "" if result else None
