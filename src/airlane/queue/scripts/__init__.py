"""Lua scripts for the multi-key transitions. Each runs atomically inside Redis.

claim_many  (worker) task messages become this worker's tries, each at most once per try
finish_many (worker) per try: last log lines, XComs, acknowledgement, completion event
apply    (coordinator) a batch of writes, refused unless the caller holds the lease (which
         each call extends; a lapsed lease that nobody took is taken back)
create_run (API, CLI) a queued run of an existing DAG, unless the run id is taken
renew    (coordinator) extend the lease if still held, or take it back if nobody holds it

Each call is a frozen dataclass (ClaimMany, FinishMany, Apply, CreateRun, Renew) beside its Lua
source, which documents its KEYS and ARGV. Ready for Redis Cluster: every key a script touches
arrives in KEYS (no key name is built in Lua or passed in ARGV; where the keys depend on the
data, the call's JSON names each by its position in KEYS), and all of them share the
deployment's hash tag (queue/keys.py, "Hash tags").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.queue.scripts.apply import APPLY, Apply, Batch
from airlane.queue.scripts.claim import CLAIM_MANY, Claim, ClaimMany
from airlane.queue.scripts.finish import FINISH_MANY, Finish, FinishMany
from airlane.queue.scripts.lease import RENEW, Renew
from airlane.queue.scripts.runs import CREATE_RUN, CreateRun
from airlane.queue.scripts.wire import ScriptArgs

__all__ = [
    "APPLY",
    "CLAIM_MANY",
    "CREATE_RUN",
    "FINISH_MANY",
    "RENEW",
    "SOURCES",
    "Apply",
    "Batch",
    "Claim",
    "ClaimMany",
    "CreateRun",
    "Finish",
    "FinishMany",
    "Renew",
    "ScriptArgs",
    "Scripts",
]

#: every script by name
SOURCES = {
    "claim_many": CLAIM_MANY,
    "finish_many": FINISH_MANY,
    "apply": APPLY,
    "renew": RENEW,
    "create_run": CREATE_RUN,
}


@dataclass(frozen=True)
class Scripts:
    """The scripts registered on one client (EVALSHA, loading them again after a restart), each
    called with its typed request; ``keys`` names the keys of the requests."""

    keys: Keys
    registered: dict[str, Any]

    @classmethod
    def register(
        cls, client: aioredis.Redis, keys: Keys, lua: Callable[[str], str] = str
    ) -> Scripts:
        """``lua`` may rewrite each source first (tests check the keys scripts touch)."""
        return cls(keys, {name: client.register_script(lua(s)) for name, s in SOURCES.items()})

    async def _call(self, name: str, wire: ScriptArgs) -> object:
        return cast(object, await self.registered[name](keys=wire.keys, args=wire.args))

    async def claim_many(self, call: ClaimMany) -> list[bool]:
        """One answer per claim: True when the try is now (or still) this worker's."""
        results = await self._call("claim_many", call.encode(self.keys))
        return [bool(result) for result in cast(list[int], results)]

    async def finish_many(self, call: FinishMany) -> None:
        await self._call("finish_many", call.encode(self.keys))

    async def apply(self, call: Apply) -> None:
        """Raises ResponseError NOLEASE when another coordinator holds the lease."""
        await self._call("apply", call.encode(self.keys))

    async def renew(self, call: Renew) -> bool:
        """Whether the caller holds the lease now."""
        return bool(await self._call("renew", call.encode(self.keys)))

    async def create_run(self, call: CreateRun) -> None:
        """Raises ResponseError NODAG (no such DAG) or EXISTS (the run id is taken)."""
        await self._call("create_run", call.encode(self.keys))
