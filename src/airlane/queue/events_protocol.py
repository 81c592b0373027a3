"""Run events, the entries of the ``events`` stream, encoded and decoded in this one module.

Writers: the coordinator (through ``Persister``: ``run``, ``ti``, ``run_timeout``), the
callbacks role (``callback``), the ``CREATE_RUN`` script (the ``queued`` ``run`` event, see
:class:`RunEvent`), the DAG processor (``dag``, ``import_errors``) and the
``RECORD_ASSET_EVENTS`` script (``asset``). Reader: the API (``api/event_format.py``), which
sends each entry to its clients as the JSON of one server-sent event, the event's
:meth:`payload` after ``kind`` and ``at``; the UI reads that JSON, so the key order of each
payload is part of the wire format too. A kind this module does not know (from a newer
writer) passes through as :class:`OtherEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

import orjson

from airlane.queue.keys import parse_run_ref, parse_ti_field, run_ref, ti_field
from airlane.queue.protocol import Fields, MalformedRecord
from airlane.sdk.state import DagRunState, TaskInstanceState


class EventKind(StrEnum):
    RUN = "run"
    TI = "ti"
    RUN_TIMEOUT = "run_timeout"
    DAG = "dag"
    IMPORT_ERRORS = "import_errors"
    CALLBACK = "callback"
    ASSET = "asset"
    DEADLINE_MISSED = "deadline_missed"


def _field(fields: Mapping[str, str], name: str, kind: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise MalformedRecord(f"{kind} event lacks its {name!r} field: {dict(fields)!r:.300}")
    return value


def _enum(enum: type[StrEnum], raw: str, kind: str) -> Any:
    try:
        return enum(raw)
    except ValueError:
        raise MalformedRecord(f"{kind} event with unknown state {raw!r:.50}") from None


@dataclass(frozen=True, slots=True)
class RunEvent:
    """A run changed state.

    Lua: ``CREATE_RUN`` writes the first one itself, in the same step as the run:
    ``XADD events * kind run run <run ref> state queued``.
    """

    kind: ClassVar[EventKind] = EventKind.RUN
    dag_id: str
    run_id: str
    state: DagRunState

    def to_fields(self) -> Fields:
        run = run_ref(self.dag_id, self.run_id)
        return {"kind": self.kind.value, "run": run, "state": self.state.value}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> RunEvent:
        dag_id, run_id = parse_run_ref(_field(fields, "run", cls.kind))
        return cls(dag_id, run_id, _enum(DagRunState, _field(fields, "state", cls.kind), cls.kind))

    def payload(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "state": self.state.value}


@dataclass(frozen=True, slots=True)
class TIEvent:
    """A task instance changed state (``worker``: where it started running, on that event)."""

    kind: ClassVar[EventKind] = EventKind.TI
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: TaskInstanceState
    try_number: int
    worker: str = ""

    def to_fields(self) -> Fields:
        run, ti = run_ref(self.dag_id, self.run_id), ti_field(self.task_id, self.map_index)
        return ti_event_fields(run, ti, self.state, self.try_number, self.worker)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TIEvent:
        dag_id, run_id = parse_run_ref(_field(fields, "run", cls.kind))
        task_id, map_index = parse_ti_field(_field(fields, "ti", cls.kind))
        state = _enum(TaskInstanceState, _field(fields, "state", cls.kind), cls.kind)
        try_number = int(_field(fields, "try_number", cls.kind))
        worker = fields.get("worker", "")
        return cls(dag_id, run_id, task_id, map_index, state, try_number, worker)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
            "state": self.state.value,
        }
        if self.worker:
            data["worker"] = self.worker
        data["try_number"] = self.try_number
        return data


def ti_event_fields(
    run: str, ti: str, state: TaskInstanceState, try_number: int, worker: str = ""
) -> Fields:
    """:meth:`TIEvent.to_fields` from the run ref and ti field themselves: the coordinator
    writes one of these per transition and holds both already (no event object, no parsing)."""
    fields: Fields = {
        "kind": _TI_KIND,
        "run": run,
        "ti": ti,
        "state": _STATE_TEXT[state],
        "try_number": str(try_number),
    }
    if worker:
        fields["worker"] = worker
    return fields


def ti_event_entry(
    run: str, ti: str, state: TaskInstanceState, try_number: int, worker: str = ""
) -> list[str]:
    """:func:`ti_event_fields` as the stream entry's flat ``[name, value, ...]`` list (the form
    the coordinator's batch sends: no dict built and flattened per transition)."""
    if worker:
        return [
            "kind", _TI_KIND, "run", run, "ti", ti, "state", _STATE_TEXT[state],
            "try_number", str(try_number), "worker", worker,
        ]  # fmt: skip
    return [
        "kind", _TI_KIND, "run", run, "ti", ti, "state", _STATE_TEXT[state],
        "try_number", str(try_number),
    ]  # fmt: skip


def ti_event_parts(
    run: str, state: TaskInstanceState, try_number: int
) -> tuple[list[str], list[str]]:
    """What comes before and after the ``ti`` value in :func:`ti_event_entry`'s list (no
    worker): the same for a run's instances in one state and try (queued together)."""
    head = ["kind", _TI_KIND, "run", run, "ti"]
    return head, ["state", _STATE_TEXT[state], "try_number", str(try_number)]


_TI_KIND = EventKind.TI.value
#: each state's text, looked up in C (``.value`` is a Python-level descriptor call)
_STATE_TEXT: dict[TaskInstanceState, str] = {state: state.value for state in TaskInstanceState}


@dataclass(frozen=True, slots=True)
class RunTimeoutEvent:
    """A run passed its ``dagrun_timeout`` (its ``failed`` run event follows)."""

    kind: ClassVar[EventKind] = EventKind.RUN_TIMEOUT
    dag_id: str
    run_id: str

    def to_fields(self) -> Fields:
        return {"kind": self.kind.value, "run": run_ref(self.dag_id, self.run_id)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> RunTimeoutEvent:
        return cls(*parse_run_ref(_field(fields, "run", cls.kind)))

    def payload(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "run_id": self.run_id}


@dataclass(frozen=True, slots=True)
class DeadlineMissedEvent:
    """A run's deadline passed before the run succeeded (its alert's callback is queued:
    a ``callback`` event follows once the callbacks role delivered it)."""

    kind: ClassVar[EventKind] = EventKind.DEADLINE_MISSED
    dag_id: str
    run_id: str
    #: the alert's position in the DAG's ``deadline`` list
    alert_index: int
    #: the deadline (epoch seconds)
    deadline_s: float

    def to_fields(self) -> Fields:
        return {
            "kind": self.kind.value,
            "run": run_ref(self.dag_id, self.run_id),
            "alert": str(self.alert_index),
            "deadline": repr(self.deadline_s),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DeadlineMissedEvent:
        dag_id, run_id = parse_run_ref(_field(fields, "run", cls.kind))
        try:
            alert = int(_field(fields, "alert", cls.kind))
            deadline_s = float(_field(fields, "deadline", cls.kind))
        except ValueError as err:
            raise MalformedRecord(f"{cls.kind} event: {err}") from None
        return cls(dag_id, run_id, alert, deadline_s)

    def payload(self) -> dict[str, Any]:
        deadline = datetime.fromtimestamp(self.deadline_s, UTC).isoformat()
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "alert_index": self.alert_index,
            "deadline_time": deadline.replace("+00:00", "Z"),
        }


class CallbackOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """The callbacks role delivered a DAG-level callback of a run (``done``), or gave up on it
    after its last try (``failed``, with the last error); with ``task_id``, the task callback of
    a try that died with its worker (``try_number``)."""

    kind: ClassVar[EventKind] = EventKind.CALLBACK
    dag_id: str
    run_id: str
    callback: str
    outcome: CallbackOutcome
    tries: int
    error: str = ""
    task_id: str = ""
    map_index: int = -1
    try_number: int = 0

    def to_fields(self) -> Fields:
        fields: Fields = {
            "kind": self.kind.value,
            "run": run_ref(self.dag_id, self.run_id),
            "callback": self.callback,
            "outcome": self.outcome.value,
            "tries": str(self.tries),
        }
        if self.error:
            fields["error"] = self.error
        if self.task_id:
            fields["task_id"] = self.task_id
            fields["map_index"] = str(self.map_index)
            fields["try_number"] = str(self.try_number)
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> CallbackEvent:
        dag_id, run_id = parse_run_ref(_field(fields, "run", cls.kind))
        outcome = _enum(CallbackOutcome, _field(fields, "outcome", cls.kind), cls.kind)
        tries = int(_field(fields, "tries", cls.kind))
        callback = _field(fields, "callback", cls.kind)
        error = fields.get("error", "")
        task_id = fields.get("task_id", "")
        if not task_id:
            return cls(dag_id, run_id, callback, outcome, tries, error)
        map_index = int(fields.get("map_index") or -1)
        try_number = int(fields.get("try_number") or 0)
        return cls(dag_id, run_id, callback, outcome, tries, error, task_id, map_index, try_number)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "callback": self.callback,
            "outcome": self.outcome.value,
            "tries": self.tries,
        }
        if self.error:
            data["error"] = self.error
        if self.task_id:
            data.update(task_id=self.task_id, map_index=self.map_index, try_number=self.try_number)
        return data


@dataclass(frozen=True, slots=True)
class DagEvent:
    """The DAG processor stored a new version of a DAG."""

    kind: ClassVar[EventKind] = EventKind.DAG
    dag_id: str
    content_hash: str

    def to_fields(self) -> Fields:
        return {"kind": self.kind.value, "dag_id": self.dag_id, "hash": self.content_hash}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DagEvent:
        return cls(_field(fields, "dag_id", cls.kind), _field(fields, "hash", cls.kind))

    def payload(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "hash": self.content_hash}


@dataclass(frozen=True, slots=True)
class ImportErrorsEvent:
    """The DAG processor's import errors changed (clients read them again)."""

    kind: ClassVar[EventKind] = EventKind.IMPORT_ERRORS

    def to_fields(self) -> Fields:
        return {"kind": self.kind.value}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> ImportErrorsEvent:
        return cls()

    def payload(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class AssetEventMessage:
    """An asset event was recorded: ``kind asset event <the event record's JSON>`` (Airflow's
    AssetEvent fields, queue/assets.py). Its payload is the record.

    Lua: ``RECORD_ASSET_EVENTS`` (scripts/assets.py) writes it, in the step that records the
    event; no Python code sends it.
    """

    kind: ClassVar[EventKind] = EventKind.ASSET
    event_json: str

    def to_fields(self) -> Fields:
        return {"kind": self.kind.value, "event": self.event_json}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> AssetEventMessage:
        return cls(_field(fields, "event", cls.kind))

    def payload(self) -> dict[str, Any]:
        try:
            found = orjson.loads(self.event_json)
        except orjson.JSONDecodeError:
            raise MalformedRecord(
                f"asset event that is no JSON: {self.event_json!r:.200}"
            ) from None
        return found if isinstance(found, dict) else {}


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An event of a kind not listed here, passed on with the fields every event may have."""

    fields: tuple[tuple[str, str], ...]

    @property
    def kind(self) -> str:
        return dict(self.fields).get("kind", "")

    def to_fields(self) -> Fields:
        return dict(self.fields)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> OtherEvent:
        return cls(tuple(fields.items()))

    def payload(self) -> dict[str, Any]:
        fields = dict(self.fields)
        data: dict[str, Any] = {}
        if "run" in fields:
            data["dag_id"], data["run_id"] = parse_run_ref(fields["run"])
        if "ti" in fields:
            data["task_id"], data["map_index"] = parse_ti_field(fields["ti"])
        for name in ("state", "dag_id", "hash", "worker"):
            if name in fields:
                data[name] = fields[name]
        if "try_number" in fields:
            data["try_number"] = int(fields["try_number"])
        return data


_KnownEvent = (
    RunEvent
    | TIEvent
    | RunTimeoutEvent
    | DeadlineMissedEvent
    | CallbackEvent
    | DagEvent
    | ImportErrorsEvent
    | AssetEventMessage
)
RunEventMessage = _KnownEvent | OtherEvent

_KNOWN = (
    RunEvent,
    TIEvent,
    RunTimeoutEvent,
    DeadlineMissedEvent,
    CallbackEvent,
    DagEvent,
    ImportErrorsEvent,
    AssetEventMessage,
)
_BY_KIND: dict[str, type[_KnownEvent]] = {cls.kind: cls for cls in _KNOWN}


def decode_event(fields: Mapping[str, str]) -> RunEventMessage:
    """The event an ``events`` entry holds; raises ValueError (:class:`MalformedRecord` for
    a missing field or unknown state) when it cannot be read."""
    cls = _BY_KIND.get(fields.get("kind", ""))
    return OtherEvent.from_fields(fields) if cls is None else cls.from_fields(fields)
