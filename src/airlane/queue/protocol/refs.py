"""The references to running tries that services keep in Redis sets and hashes.

None of them is a stream entry: the Lua scripts store and remove them as opaque members
(``CLAIM_MANY`` adds a :class:`ClaimRef`'s encoding to ``worker_tasks:<id>``, ``FINISH_MANY``
removes it), so only these classes read them. Identifiers that users choose (DAG, run and
task ids) travel inside JSON arrays, never joined with a separator they might contain.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from airlane.queue.keys import run_ref, ti_field
from airlane.queue.protocol.records import MalformedRecord, json_array


@dataclass(frozen=True, slots=True)
class ClaimRef:
    """One try a worker claimed (the running-try reference): its task message and instance.

    Workers list these in ``worker_tasks:<id>`` and in their heartbeat; the worker passes the
    encoding to ``CLAIM_MANY`` (``message_ref``, added to the set) and ``FINISH_MANY``
    (removed from it); the coordinator's recovery and ``monitoring`` decode them.
    """

    stream: str
    message_id: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    def encode(self) -> str:
        return orjson.dumps(
            [
                self.stream,
                self.message_id,
                self.dag_id,
                self.run_id,
                self.task_id,
                self.map_index,
                self.try_number,
            ]
        ).decode()

    @classmethod
    def decode(cls, raw: str | bytes) -> ClaimRef:
        return cls(*json_array(raw, "claim reference", (str, str, str, str, str, int, int)))

    @property
    def run(self) -> str:
        return run_ref(self.dag_id, self.run_id)

    @property
    def ti(self) -> str:
        return ti_field(self.task_id, self.map_index)

    @property
    def stop_ident(self) -> StopIdent:
        return StopIdent(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)


@dataclass(frozen=True, slots=True)
class StopIdent:
    """A try the coordinator asks a worker to stop (in ``worker_stop:<id>``; no Lua)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    def encode(self) -> str:
        return orjson.dumps(
            [self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number]
        ).decode()

    @classmethod
    def decode(cls, raw: str | bytes) -> StopIdent:
        return cls(*json_array(raw, "stop ident", (str, str, str, int, int)))


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """What the coordinator reads of a worker's heartbeat record (``workers`` hash; no Lua)."""

    heartbeat_at_s: float
    #: encoded :class:`ClaimRef` of the tries it runs (each decoded on its own)
    running: tuple[str, ...]

    @classmethod
    def decode(cls, raw: str | bytes) -> WorkerBeat:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise MalformedRecord(f"worker record is not JSON: {raw!r:.200}") from None
        if not isinstance(data, dict):
            raise MalformedRecord(f"worker record is not an object: {raw!r:.200}")
        running = data.get("running", [])
        if not isinstance(running, list) or not all(isinstance(r, str) for r in running):
            raise MalformedRecord(f"worker record's running is not a list of strings: {raw!r:.200}")
        beat = data.get("heartbeat_at", 0)
        if not isinstance(beat, int | float) or isinstance(beat, bool):
            raise MalformedRecord(f"worker record's heartbeat_at is not a number: {raw!r:.200}")
        return cls(float(beat), tuple(running))
