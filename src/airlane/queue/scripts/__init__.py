"""Lua scripts for the multi-key transitions. Each runs atomically inside Redis.

claim_many  (worker) task messages become this worker's tries, each at most once per try
finish_many (worker) per try: last log lines, XComs, acknowledgement, completion event
hand_back   (worker) a claimed try goes back unused, its release written at most once
apply    (coordinator) a batch of writes, refused unless the caller holds the lease (which
         each call extends; a lapsed lease that nobody took is taken back)
create_run (API, CLI) a queued run of an existing DAG, unless the run id is taken
renew    (coordinator) extend the lease if still held, or take it back if nobody holds it
claim_triggers, renew_triggers, fire_triggers, time_out_deferred (triggerer) trigger leases,
         events and timeouts (scripts/triggers.py)
record_asset_events, create_asset_run (coordinator, API) asset events and the runs they
         trigger (scripts/assets.py)
asset_step (coordinator) a try's asset events and the runs they make ready, in one step
         (scripts/asset_step.py)

Each call is a frozen dataclass (ClaimMany, FinishMany, Apply, CreateRun, Renew) beside its Lua
source, which documents its KEYS and ARGV. Ready for Redis Cluster: every key a script touches
arrives in KEYS (no key name is built in Lua or passed in ARGV; where the keys depend on the
data, the call's JSON names each by its position in KEYS), and all of them share the
deployment's hash tag (queue/keys.py, "Hash tags").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import hiredis
import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from airlane.queue.keys import Keys
from airlane.queue.scripts.apply import APPLY, Apply, Batch
from airlane.queue.scripts.asset_step import ASSET_STEP, AssetStep, StepEvent, StepRun
from airlane.queue.scripts.assets import (
    CREATE_ASSET_RUN,
    RECORD_ASSET_EVENTS,
    CreateAssetRun,
    PendingEvent,
    RecordAssetEvents,
)
from airlane.queue.scripts.claim import CLAIM_MANY, Claim, ClaimMany
from airlane.queue.scripts.finish import FINISH_MANY, Delivery, Finish, FinishMany
from airlane.queue.scripts.hand_back import HAND_BACK, HandBack
from airlane.queue.scripts.lease import RENEW, Renew
from airlane.queue.scripts.runs import CREATE_RUN, CreateRun
from airlane.queue.scripts.triggers import SOURCES as TRIGGER_SOURCES
from airlane.queue.scripts.triggers import (
    ClaimTriggers,
    Fire,
    FireTriggers,
    RenewTriggers,
    TimeOutDeferred,
)
from airlane.queue.scripts.wire import ScriptArgs

__all__ = [
    "APPLY",
    "CLAIM_MANY",
    "CREATE_RUN",
    "FINISH_MANY",
    "HAND_BACK",
    "RENEW",
    "SOURCES",
    "Apply",
    "AssetStep",
    "Batch",
    "Claim",
    "ClaimMany",
    "ClaimTriggers",
    "CreateAssetRun",
    "CreateRun",
    "Delivery",
    "Finish",
    "FinishMany",
    "Fire",
    "FireTriggers",
    "HandBack",
    "PendingEvent",
    "RecordAssetEvents",
    "Renew",
    "RenewTriggers",
    "ScriptArgs",
    "Scripts",
    "StepEvent",
    "StepRun",
    "StreamRead",
    "TimeOutDeferred",
]

#: every script by name
SOURCES = {
    "claim_many": CLAIM_MANY,
    "finish_many": FINISH_MANY,
    "hand_back": HAND_BACK,
    "apply": APPLY,
    "renew": RENEW,
    "create_run": CREATE_RUN,
    **TRIGGER_SOURCES,
    "record_asset_events": RECORD_ASSET_EVENTS,
    "create_asset_run": CREATE_ASSET_RUN,
    "asset_step": ASSET_STEP,
}


def packed(command: tuple[str | int | float, ...]) -> bytes:
    """One command in Redis' protocol, packed by hiredis in one call: the same bytes as
    redis-py's packing, which encodes each argument in Python first (a coordinator call has
    thousands: that was a fifth of the coordinator's CPU in a fan-out)."""
    found: bytes = hiredis.pack_command(cast(Any, command))  # (its stub: one-value tuples)
    return found


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
        return [answer is not None for answer in await self.claim_resuming(call)]

    async def claim_resuming(self, call: ClaimMany) -> list[str | None]:
        """One answer per claim: None when not this worker's, else how the try resumes
        (deferral.Resume JSON), "" for a try that starts."""
        results = await self._call("claim_many", call.encode(self.keys))
        return [_claim_answer(result) for result in cast(list[int | str | bytes], results)]

    async def finish_many(self, call: FinishMany) -> list[Delivery | None]:
        """Per finish: the message read for the worker to run (Finish.run_here), or None."""
        answers = await self._call("finish_many", call.encode(self.keys))
        return [Delivery.decode(a) for a in cast(list[object], answers)]

    async def hand_back(self, call: HandBack) -> bool:
        """Whether the release was written (False: the claim was no longer the worker's)."""
        return bool(await self._call("hand_back", call.encode(self.keys)))

    async def apply(self, call: Apply) -> None:
        """Raises ResponseError NOLEASE when another coordinator holds the lease."""
        await self._call("apply", call.encode(self.keys))

    async def apply_many(self, calls: Iterable[Apply]) -> None:
        """Each of ``calls`` in order on one connection, pipelined: a call is sent as soon as
        it is encoded (``calls`` may encode lazily), so Redis runs it while the next one is
        encoded; the answers are read at the end. Raises the first error reply once every
        call is answered. EVAL, not EVALSHA: a script missing from Redis's cache would fail
        some calls and not others (the cached body costs Redis a SHA1 of it per call)."""
        script = self.registered["apply"]
        pool = script.registered_client.connection_pool
        connection = await pool.get_connection()
        try:
            sent = 0
            for call in calls:
                wire = call.encode(self.keys)
                # (its health check, a PING read back, only before the first: after it, the
                # next answer waiting is a call's)
                await connection.send_packed_command(
                    packed(("EVAL", script.script, len(wire.keys), *wire.keys, *wire.args)),
                    check_health=sent == 0,
                )
                sent += 1
            error: ResponseError | None = None
            for _ in range(sent):
                try:
                    await connection.read_response()
                except ResponseError as err:
                    error = error or err
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)
        if error is not None:
            raise error

    async def apply_then_read(self, call: Apply, read: StreamRead) -> object:
        """:meth:`apply`, then a stream read (XREADGROUP) sent behind it without waiting: one
        round trip, on one connection (no pipeline object: this runs once per coordinator
        pass). Redis runs them in order, the read after the writes. Returns the read's answer
        (as the client's ``xreadgroup`` does); raises the call's error (NOLEASE) once both
        are answered: what the read took stays in the consumer's pending list. A script
        missing from Redis's cache (restarted) is loaded and the call made again, after the
        read: the caller has not looked at what it read yet."""
        script = self.registered["apply"]
        client = script.registered_client
        wire = call.encode(self.keys)
        pool = client.connection_pool
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(
                packed(("EVALSHA", script.sha, len(wire.keys), *wire.keys, *wire.args))
                + packed(read.command())
            )
            error: ResponseError | None = None
            try:
                await connection.read_response()
            except ResponseError as err:
                error = err
            response = await connection.read_response()
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)
        if isinstance(error, NoScriptError):
            await self.apply(call)
        elif error is not None:
            raise error
        return cast(object, client.response_callbacks["XREADGROUP"](response))

    async def renew(self, call: Renew) -> bool:
        """Whether the caller holds the lease now."""
        return bool(await self._call("renew", call.encode(self.keys)))

    async def claim_triggers(self, call: ClaimTriggers) -> list[tuple[str, str, str]]:
        """(key, classpath, kwargs JSON) of each trigger taken."""
        flat = cast(list[Any], await self._call("claim_triggers", call.encode(self.keys)))
        texts = [v.decode() if isinstance(v, bytes) else str(v) for v in flat]
        return [(texts[i], texts[i + 1], texts[i + 2]) for i in range(0, len(texts), 3)]

    async def renew_triggers(self, call: RenewTriggers) -> list[str]:
        """The keys the caller must stop running (lost, fired or left without a waiter)."""
        gone = cast(list[Any], await self._call("renew_triggers", call.encode(self.keys)))
        return [v.decode() if isinstance(v, bytes) else str(v) for v in gone]

    async def fire_triggers(self, call: FireTriggers) -> int:
        """How many deferred tries resumed."""
        return int(cast(int, await self._call("fire_triggers", call.encode(self.keys))))

    async def time_out_deferred(self, call: TimeOutDeferred) -> int:
        return int(cast(int, await self._call("time_out_deferred", call.encode(self.keys))))

    async def create_run(self, call: CreateRun) -> None:
        """Raises ResponseError NODAG (no such DAG) or EXISTS (the run id is taken)."""
        await self._call("create_run", call.encode(self.keys))

    async def record_asset_events(self, call: RecordAssetEvents) -> tuple[bool, list[int]]:
        """(recorded now, the event ids); False with the ids of a try's earlier recording."""
        fresh, ids = cast(
            list[Any], await self._call("record_asset_events", call.encode(self.keys))
        )
        text = ids.decode() if isinstance(ids, bytes) else str(ids)
        return bool(fresh), [int(i) for i in orjson.loads(text)]

    async def create_asset_runs(self, calls: Sequence[CreateAssetRun]) -> list[object]:
        """Several runs in one pipelined round trip: per call True, False (its queued events
        are gone) or the ResponseError it raised (NODAG, EXISTS)."""
        if not calls:
            return []
        script = self.registered["create_asset_run"]
        async with script.registered_client.pipeline(transaction=False) as pipe:
            for call in calls:
                wire = call.encode(self.keys)
                await script(keys=wire.keys, args=wire.args, client=pipe)
            answers = await pipe.execute(raise_on_error=False)
        return [a if isinstance(a, Exception) else bool(a) for a in answers]

    async def asset_step(self, call: AssetStep) -> tuple[int, list[int], list[str], bool]:
        """(1 done, 0 a try's events recorded before, -1 an asset record is not the caller's),
        the event ids, per planned run its DAG's content hash ("" not made, "-" paused), and
        whether a row asking for the full look was queued."""
        done, ids, hashes, look = cast(
            list[Any], await self._call("asset_step", call.encode(self.keys))
        )
        found = [int(i) for i in orjson.loads(_text(ids))]
        return int(done), found, [_text(h) for h in hashes], bool(look)

    async def create_asset_run(self, call: CreateAssetRun) -> bool:
        """False when the queued events are gone (consumed by an earlier call); raises
        ResponseError NODAG or EXISTS."""
        return bool(await self._call("create_asset_run", call.encode(self.keys)))


@dataclass(frozen=True, slots=True)
class StreamRead:
    """An XREADGROUP: the group and consumer reading, the position in each stream, at most
    ``count`` entries per stream, blocking up to ``block_ms`` (None: not at all)."""

    group: str
    consumer: str
    streams: dict[str, str]
    count: int
    block_ms: int | None

    def command(self) -> tuple[str | int, ...]:
        """The command's arguments, as the client's ``xreadgroup`` sends them."""
        block = () if self.block_ms is None else ("BLOCK", self.block_ms)
        return (
            "XREADGROUP",
            "GROUP",
            self.group,
            self.consumer,
            "COUNT",
            self.count,
            *block,
            "STREAMS",
            *self.streams,
            *self.streams.values(),
        )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _claim_answer(result: int | str | bytes) -> str | None:
    if isinstance(result, bytes):
        return result.decode()
    if isinstance(result, str):
        return result
    return "" if result else None
