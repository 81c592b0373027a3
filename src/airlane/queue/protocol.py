"""The wire forms services exchange through Redis, encoded and decoded in this one module.

Whatever a service reads back from Redis was written by another process, possibly another
version, possibly by hand: each ``decode`` here checks the shape and raises
:class:`MalformedRecord` (a ``ValueError``) naming what is wrong, so a reader can log the record
and skip it (:func:`decoded_or_none`) instead of dying on it. Identifiers that users choose (DAG,
run and task ids) travel inside JSON arrays, never joined with a separator they might contain.

Run events (the ``events`` stream) are in :mod:`events_protocol`; Airflow's rule for run ids,
checked wherever a run is created, is in :mod:`run_ids` (and imported from here too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import orjson

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import decode_outcome, encode_outcome
from airlane.queue.keys import run_ref, ti_field
from airlane.queue.run_ids import ANY_ID as ANY_ID
from airlane.queue.run_ids import RUN_ID_MAX_CHARS as RUN_ID_MAX_CHARS
from airlane.queue.run_ids import InvalidRunId as InvalidRunId
from airlane.queue.run_ids import run_id_problem as run_id_problem
from airlane.queue.run_ids import validate_run_id as validate_run_id
from airlane.sdk.state import TaskInstanceState

T = TypeVar("T")
R = TypeVar("R")


class MalformedRecord(ValueError):
    """A record read from Redis that does not have the shape its writer gives it."""


#: a stream entry's fields as the encoders give them (names and values are all ``str``), typed
#: loosely because redis-py's ``xadd`` takes its own invariant dict type
Fields = dict[Any, Any]


# ---- claim references and stop idents -------------------------------------------------------


def _array(raw: str | bytes, what: str, types: tuple[type, ...]) -> list[Any]:
    """A JSON array of exactly ``types`` (no bool for int), or MalformedRecord."""
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedRecord(f"{what} is not JSON: {raw!r:.200}") from None
    if not isinstance(items, list) or len(items) != len(types):
        raise MalformedRecord(f"{what} is not an array of {len(types)} items: {raw!r:.200}")
    for item, kind in zip(items, types, strict=True):
        if not isinstance(item, kind) or isinstance(item, bool):
            raise MalformedRecord(f"{what} has {item!r:.50} where a {kind.__name__} belongs")
    return items


def _str_list(raw: str, what: str) -> tuple[str, ...]:
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedRecord(f"{what} is not JSON: {raw!r:.200}") from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise MalformedRecord(f"{what} is not an array of strings: {raw!r:.200}")
    return tuple(items)


@dataclass(frozen=True, slots=True)
class ClaimRef:
    """One try a worker claimed: its task message and its instance.

    Workers list these in ``worker_tasks:<id>`` and in their heartbeat; the Lua scripts store
    and remove them as opaque set members, so only this class reads them.
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
        return cls(*_array(raw, "claim reference", (str, str, str, str, str, int, int)))

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
    """A try the coordinator asks a worker to stop (in ``worker_stop:<id>``)."""

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
        return cls(*_array(raw, "stop ident", (str, str, str, int, int)))


# ---- stream messages ------------------------------------------------------------------------


def _text(fields: Mapping[str, str], name: str, what: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"{what} lacks its {name!r} field: {dict(fields)!r:.300}")
    return value


def _number(fields: Mapping[str, str], name: str, what: str, kind: Callable[[str], T]) -> T:
    raw = _text(fields, name, what)
    try:
        return kind(raw)
    except ValueError:
        raise MalformedRecord(f"{what} has {name}={raw!r:.50}, not a number") from None


def _ti_key(field: str, what: str) -> tuple[str, int]:
    # Task ids cannot contain "|" (the loader checks every DAG's ids), so the field's last
    # "|" separates the map index, and a run ref's first "|" ends the DAG id.
    task_id, bar, index = field.rpartition("|")
    try:
        if not bar or not task_id:
            raise ValueError
        return task_id, int(index)
    except ValueError:
        raise MalformedRecord(f"{what} has ti={field!r:.100}, not <task_id>|<map_index>") from None


class CompletionKind(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Completion:
    """An entry of the ``completions`` stream: ``kind``, ``run`` (ref), ``ti`` (field), ``try``.

    Lua writes two of the kinds itself, with the fields :meth:`to_fields` gives them:
    ``CLAIM_MANY`` the ``started`` one (``worker``, ``at`` in epoch seconds) in the step that
    claims the try; ``FINISH_MANY`` the ``finished`` one (``outcome``: codec's outcome JSON)
    in the step that acknowledges it. The worker writes ``released`` from Python.
    """

    kind: CompletionKind
    run: str
    ti: str
    task_id: str
    map_index: int
    try_number: int
    worker: str = ""
    at_s: float = 0.0
    outcome: TaskOutcome | None = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Completion:
        what = "completion"
        try:
            kind = CompletionKind(fields.get("kind", ""))
        except ValueError:
            raise MalformedRecord(f"completion of unknown kind: {dict(fields)!r:.300}") from None
        ti = _text(fields, "ti", what)
        task_id, map_index = _ti_key(ti, what)
        run, try_number = _text(fields, "run", what), _number(fields, "try", what, int)
        worker, at_s, outcome = "", 0.0, None
        if kind is CompletionKind.STARTED:
            worker, at_s = _text(fields, "worker", what), _number(fields, "at", what, float)
        elif kind is CompletionKind.FINISHED:
            raw = _text(fields, "outcome", what)
            try:
                outcome = decode_outcome(raw)
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise MalformedRecord(f"completion outcome {raw!r:.200}: {err!r}") from None
        return cls(kind, run, ti, task_id, map_index, try_number, worker, at_s, outcome)

    @classmethod
    def released(
        cls, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> Completion:
        """A try the worker hands back unstarted (it is queued again)."""
        ti = ti_field(task_id, map_index)
        return cls(
            CompletionKind.RELEASED, run_ref(dag_id, run_id), ti, task_id, map_index, try_number
        )

    def to_fields(self) -> Fields:
        fields = {
            "kind": self.kind.value,
            "run": self.run,
            "ti": self.ti,
            "try": str(self.try_number),
        }
        if self.kind is CompletionKind.STARTED:
            fields |= {"worker": self.worker, "at": repr(self.at_s)}
        elif self.kind is CompletionKind.FINISHED:
            assert self.outcome is not None, "a finished completion carries its outcome"
            fields["outcome"] = encode_outcome(self.outcome)
        return fields


class CommandKind(StrEnum):
    RUN_CREATED = "run_created"
    DAG_UPDATED = "dag_updated"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    BACKFILL = "backfill"
    POOLS = "pools"
    CLEAR = "clear"
    MARK = "mark"
    #: written by the coordinator itself to end a blocked read on time
    TICK = "tick"


@dataclass(frozen=True, slots=True)
class Command:
    """An entry of the ``commands`` stream (API, CLI, DAG processor, the create_run script).

    Lua: ``CREATE_RUN`` writes ``run_created`` itself (``type``, ``run``: the new run's ref) in
    the step that stores the run. Every other producer sends :meth:`to_fields`.
    """

    kind: CommandKind
    run: str = ""
    dag_id: str = ""
    content_hash: str = ""
    task_ids: tuple[str, ...] = ()
    #: a mark's instances and their new states, applied together as one step: observers
    #: never see a run in between (a run marked success never passes through "success" with
    #: an instance still failed)
    marks: tuple[tuple[tuple[str, int], TaskInstanceState], ...] = ()
    #: the backfill that changed (producers name it; the coordinator advances every backfill)
    backfill_id: int | None = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Command:
        what = "command"
        try:
            kind = CommandKind(fields.get("type", ""))
        except ValueError:
            raise MalformedRecord(f"command of unknown type: {dict(fields)!r:.300}") from None
        if kind is CommandKind.RUN_CREATED:
            return cls(kind, run=_text(fields, "run", what))
        if kind is CommandKind.DAG_UPDATED:
            dag_id, content_hash = _text(fields, "dag_id", what), _text(fields, "hash", what)
            return cls(kind, dag_id=dag_id, content_hash=content_hash)
        if kind in (CommandKind.PAUSED, CommandKind.UNPAUSED):
            return cls(kind, dag_id=_text(fields, "dag_id", what))
        if kind is CommandKind.CLEAR:
            task_ids = _str_list(_text(fields, "task_ids", what), "clear's task_ids")
            return cls(kind, run=_text(fields, "run", what), task_ids=task_ids)
        if kind is CommandKind.MARK:
            return cls(kind, run=_text(fields, "run", what), marks=_marks(fields))
        if kind is CommandKind.BACKFILL and "id" in fields:
            return cls(kind, backfill_id=_number(fields, "id", what, int))
        return cls(kind)

    @classmethod
    def marking(cls, run: str, marks: Mapping[str, str]) -> Command:
        """A mark of ``run``'s instances: ``<task_id>|<map_index>`` field -> new state."""
        pairs = ((_ti_key(ti, "mark"), _ti_state(state)) for ti, state in marks.items())
        return cls(CommandKind.MARK, run=run, marks=tuple(pairs))

    def to_fields(self) -> Fields:
        """The entry's fields, as :meth:`from_fields` reads them."""
        kind, fields = self.kind, {"type": self.kind.value}
        if kind in (CommandKind.RUN_CREATED, CommandKind.CLEAR, CommandKind.MARK):
            fields["run"] = self.run
        if kind in (CommandKind.DAG_UPDATED, CommandKind.PAUSED, CommandKind.UNPAUSED):
            fields["dag_id"] = self.dag_id
        if kind is CommandKind.DAG_UPDATED:
            fields["hash"] = self.content_hash
        elif kind is CommandKind.CLEAR:
            fields["task_ids"] = orjson.dumps(list(self.task_ids)).decode()
        elif kind is CommandKind.MARK:
            fields |= encode_marks({ti_field(*key): state.value for key, state in self.marks})
        elif kind is CommandKind.BACKFILL and self.backfill_id is not None:
            fields["id"] = str(self.backfill_id)
        return fields


def encode_marks(marks: Mapping[str, str]) -> dict[str, str]:
    """A mark command's fields for ``marks`` (``<task_id>|<map_index>`` -> new state)."""
    return {"marks": orjson.dumps(dict(marks)).decode()}


def _marks(fields: Mapping[str, str]) -> tuple[tuple[tuple[str, int], TaskInstanceState], ...]:
    """A mark's ``marks`` object, or the single ``ti`` and ``state`` of older producers."""
    what = "mark command"
    if "marks" in fields:
        try:
            raw = orjson.loads(fields["marks"])
        except orjson.JSONDecodeError:
            raise MalformedRecord(f"{what}'s marks is not JSON: {fields['marks']!r:.200}") from None
        if not isinstance(raw, dict) or not raw:
            raise MalformedRecord(f"{what}'s marks is not a non-empty object: {raw!r:.200}")
        pairs = list(raw.items())
    else:
        pairs = [(_text(fields, "ti", what), _text(fields, "state", what))]
    return tuple((_ti_key(ti, what), _ti_state(state)) for ti, state in pairs)


def _ti_state(raw: object) -> TaskInstanceState:
    try:
        if not isinstance(raw, str):
            raise ValueError
        return TaskInstanceState(raw)
    except ValueError:
        raise MalformedRecord(f"mark to unknown state {raw!r:.50}") from None


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """What the coordinator reads of a worker's heartbeat record (``workers`` hash)."""

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


def parse_ti_key(field: str) -> tuple[str, int]:
    """``<task_id>|<map_index>`` (a ``tis:{run}`` field) as its two parts."""
    return _ti_key(field, "task instance field")


#: what a decoder raises on input it cannot read (codec's and the task message's decoders
#: have no MalformedRecord of their own)
_DECODE_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)


def decoded_or_none(
    decode: Callable[[T], R], raw: T, what: str, logger: logging.Logger
) -> R | None:
    """``decode(raw)``, or None after logging when ``raw`` cannot be decoded.

    The one place where a reader survives a bad record. Give it a pure decoder only: what it
    raises is the record's fault. A :class:`MalformedRecord` is logged as one line; any other
    error with its traceback, in case the decoder itself is wrong.
    """
    try:
        return decode(raw)
    except MalformedRecord as err:
        logger.error("skipping a malformed %s: %s", what, err)
    except _DECODE_ERRORS as err:
        logger.error("skipping a malformed %s (%r): %r", what, err, _clip(raw), exc_info=True)
    return None


def _clip(raw: object) -> object:
    return raw[:300] if isinstance(raw, str | bytes) else raw
