"""Commands, the entries of the ``commands`` stream: one frozen dataclass per ``type``.

Each class names its ``kind`` (the ``type`` field), holds only the fields its kind carries,
and encodes itself (``to_fields``) and decodes itself (``from_fields``) here;
:func:`decode_command` picks the class by ``type``. Writers: the API and CLI through ``Store``
(:class:`DagPaused`, :class:`DagUnpaused`, :class:`PoolsChanged`, :class:`ClearTasks`,
:class:`MarkTasks`, :class:`WakeTask`), backfill creation and changes
(:class:`BackfillChanged`), the DAG processor (:class:`DagUpdated`), the coordinator itself
(:class:`Tick`) and the ``CREATE_RUN`` script (:class:`RunCreated`). The one reader is the
coordinator, which logs and skips an entry :func:`decode_command` refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import orjson

from airlane.queue.keys import ti_field
from airlane.queue.protocol.records import (
    Fields,
    MalformedRecord,
    number_field,
    str_list,
    text_field,
    ti_key,
)
from airlane.sdk.state import DagRunState, TaskInstanceState


class CommandKind(StrEnum):
    RUN_CREATED = "run_created"
    DAG_UPDATED = "dag_updated"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    BACKFILL = "backfill"
    POOLS = "pools"
    CLEAR = "clear"
    MARK = "mark"
    WAKE = "wake"
    #: written by the coordinator itself to end a blocked read on time
    TICK = "tick"


@dataclass(frozen=True, slots=True)
class RunCreated:
    """A run was stored, queued: ``type run_created run <run ref>``.

    Lua: ``CREATE_RUN`` (scripts/runs.py) writes it itself, in the step that stores the run
    (``XADD commands * type run_created run ARGV[4]``); no Python code sends it.
    """

    kind: ClassVar[CommandKind] = CommandKind.RUN_CREATED
    run: str

    def to_fields(self) -> Fields:
        return {"type": self.kind.value, "run": self.run}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> RunCreated:
        return cls(text_field(fields, "run", "run_created command"))


@dataclass(frozen=True, slots=True)
class DagUpdated:
    """The DAG processor stored a new version: ``type dag_updated dag_id <id> hash <hash>``.

    No Lua.
    """

    kind: ClassVar[CommandKind] = CommandKind.DAG_UPDATED
    dag_id: str
    content_hash: str

    def to_fields(self) -> Fields:
        return {"type": self.kind.value, "dag_id": self.dag_id, "hash": self.content_hash}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DagUpdated:
        what = "dag_updated command"
        return cls(text_field(fields, "dag_id", what), text_field(fields, "hash", what))


@dataclass(frozen=True, slots=True)
class DagPaused:
    """A DAG was paused: ``type paused dag_id <id>`` (sent with the ``paused`` set's change,
    in one transaction). No Lua."""

    kind: ClassVar[CommandKind] = CommandKind.PAUSED
    dag_id: str

    def to_fields(self) -> Fields:
        return {"type": self.kind.value, "dag_id": self.dag_id}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DagPaused:
        return cls(text_field(fields, "dag_id", "paused command"))


@dataclass(frozen=True, slots=True)
class DagUnpaused:
    """A DAG was unpaused: ``type unpaused dag_id <id>``. No Lua."""

    kind: ClassVar[CommandKind] = CommandKind.UNPAUSED
    dag_id: str

    def to_fields(self) -> Fields:
        return {"type": self.kind.value, "dag_id": self.dag_id}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DagUnpaused:
        return cls(text_field(fields, "dag_id", "unpaused command"))


@dataclass(frozen=True, slots=True)
class BackfillChanged:
    """A backfill was created or changed: ``type backfill [id <backfill id>]``.

    Producers name the backfill; the coordinator advances every backfill, so an entry without
    ``id`` (from older producers) is read too. No Lua.
    """

    kind: ClassVar[CommandKind] = CommandKind.BACKFILL
    backfill_id: int | None = None

    def to_fields(self) -> Fields:
        if self.backfill_id is None:
            return {"type": self.kind.value}
        return {"type": self.kind.value, "id": str(self.backfill_id)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> BackfillChanged:
        if "id" not in fields:
            return cls()
        return cls(number_field(fields, "id", "backfill command", int))


@dataclass(frozen=True, slots=True)
class PoolsChanged:
    """A pool was set or deleted: ``type pools`` (the coordinator reloads them all). No Lua."""

    kind: ClassVar[CommandKind] = CommandKind.POOLS

    def to_fields(self) -> Fields:
        return {"type": self.kind.value}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> PoolsChanged:
        return cls()


@dataclass(frozen=True, slots=True)
class Tick:
    """``type tick``: the coordinator's own alarm, ending a blocked read on time. No Lua."""

    kind: ClassVar[CommandKind] = CommandKind.TICK

    def to_fields(self) -> Fields:
        return {"type": self.kind.value}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Tick:
        return cls()


@dataclass(frozen=True, slots=True)
class ClearTasks:
    """Reset those tasks' instances of a run so they run again:
    ``type clear run <run ref> task_ids <JSON array of task ids>``. No Lua."""

    kind: ClassVar[CommandKind] = CommandKind.CLEAR
    run: str
    task_ids: tuple[str, ...]

    def to_fields(self) -> Fields:
        task_ids = orjson.dumps(list(self.task_ids)).decode()
        return {"type": self.kind.value, "run": self.run, "task_ids": task_ids}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> ClearTasks:
        what = "clear command"
        task_ids = str_list(text_field(fields, "task_ids", what), "clear's task_ids")
        return cls(text_field(fields, "run", what), task_ids)


#: a mark's instances (task id, map index) and their new states
Marks = tuple[tuple[tuple[str, int], TaskInstanceState], ...]


@dataclass(frozen=True, slots=True)
class MarkTasks:
    """Set instances' states by hand, all in one step:
    ``type mark run <run ref> marks <JSON object: "<task_id>|<map_index>" -> state>``.

    Applied together, observers never see the run in between (a run marked success never
    passes through "success" with an instance still failed). Older producers sent one
    instance as ``ti <task_id>|<map_index> state <state>``; that form is still read. No Lua.
    ``whole_run 1`` says the marks set the whole run's state (the API's PATCH of a run): as in
    Airflow, a run ended that way fires no DAG callback. ``run_state success|failed`` (with
    it) is the state the run ends in once nothing is left to run, whatever its instances'
    states say (Airflow's set_dag_run_state_to_failed fails a run whose tasks all succeeded).
    """

    kind: ClassVar[CommandKind] = CommandKind.MARK
    run: str
    marks: Marks
    whole_run: bool = False
    run_state: DagRunState | None = None

    def to_fields(self) -> Fields:
        by_field = {ti_field(*key): state.value for key, state in self.marks}
        fields = {"type": self.kind.value, "run": self.run, **encode_marks(by_field)}
        if self.whole_run:
            fields["whole_run"] = "1"
        if self.run_state is not None:
            fields["run_state"] = self.run_state.value
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> MarkTasks:
        run = text_field(fields, "run", "mark command")
        raw_state = fields.get("run_state")
        run_state = _run_state(raw_state) if raw_state else None
        marks = _marks(fields, may_be_empty=run_state is not None)
        return cls(run, marks, fields.get("whole_run") == "1", run_state)

    @classmethod
    def from_ti_fields(
        cls,
        run: str,
        marks: Mapping[str, str],
        whole_run: bool = False,
        run_state: DagRunState | None = None,
    ) -> MarkTasks:
        """A mark of ``run``'s instances: ``<task_id>|<map_index>`` field -> new state."""
        pairs = ((ti_key(ti, "mark"), _ti_state(state)) for ti, state in marks.items())
        return cls(run, tuple(pairs), whole_run, run_state)


def encode_marks(marks: Mapping[str, str]) -> dict[str, str]:
    """A mark command's ``marks`` field for ``marks`` (``<task_id>|<map_index>`` -> state)."""
    return {"marks": orjson.dumps(dict(marks)).decode()}


def _marks(fields: Mapping[str, str], may_be_empty: bool = False) -> Marks:
    """A mark's ``marks`` object, or the single ``ti`` and ``state`` of older producers
    (``may_be_empty``: a mark of the run's own state may set no instance's)."""
    what = "mark command"
    if "marks" in fields:
        try:
            raw = orjson.loads(fields["marks"])
        except orjson.JSONDecodeError:
            raise MalformedRecord(f"{what}'s marks is not JSON: {fields['marks']!r:.200}") from None
        if not isinstance(raw, dict) or not (raw or may_be_empty):
            raise MalformedRecord(f"{what}'s marks is not a non-empty object: {raw!r:.200}")
        pairs = list(raw.items())
    else:
        pairs = [(text_field(fields, "ti", what), text_field(fields, "state", what))]
    return tuple((ti_key(ti, what), _ti_state(state)) for ti, state in pairs)


def _ti_state(raw: object) -> TaskInstanceState:
    try:
        if not isinstance(raw, str):
            raise ValueError
        return TaskInstanceState(raw)
    except ValueError:
        raise MalformedRecord(f"mark to unknown state {raw!r:.50}") from None


def _run_state(raw: str) -> DagRunState:
    if raw not in (DagRunState.SUCCESS, DagRunState.FAILED):
        raise MalformedRecord(f"mark of a run to {raw!r:.50}")
    return DagRunState(raw)


@dataclass(frozen=True, slots=True)
class WakeTask:
    """Run a waiting (up_for_reschedule) instance now rather than at its next check; a
    deferred one's HITL trigger reads its answer now (a ``hitl_answers`` notice). ``type wake
    run <run ref> ti <task_id>|<map_index>``. No Lua."""

    kind: ClassVar[CommandKind] = CommandKind.WAKE
    run: str
    task_id: str
    map_index: int = -1

    def to_fields(self) -> Fields:
        ti = ti_field(self.task_id, self.map_index)
        return {"type": self.kind.value, "run": self.run, "ti": ti}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> WakeTask:
        what = "wake command"
        task_id, map_index = ti_key(text_field(fields, "ti", what), what)
        return cls(text_field(fields, "run", what), task_id, map_index)


#: every command, as the coordinator matches on it
Command = (
    RunCreated
    | DagUpdated
    | DagPaused
    | DagUnpaused
    | BackfillChanged
    | PoolsChanged
    | Tick
    | ClearTasks
    | MarkTasks
    | WakeTask
)

_BY_TYPE: dict[str, type[Command]] = {
    cls.kind.value: cls
    for cls in (
        RunCreated,
        DagUpdated,
        DagPaused,
        DagUnpaused,
        BackfillChanged,
        PoolsChanged,
        Tick,
        ClearTasks,
        MarkTasks,
        WakeTask,
    )
}


def decode_command(fields: Mapping[str, str]) -> Command:
    """The command a ``commands`` entry holds, or :class:`MalformedRecord` saying why not."""
    cls = _BY_TYPE.get(fields.get("type", ""))
    if cls is None:
        raise MalformedRecord(f"command of unknown type: {dict(fields)!r:.300}")
    return cls.from_fields(fields)
