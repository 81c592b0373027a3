"""Completions, the entries of the ``completions`` stream: one frozen dataclass per ``kind``.

Every completion names one try: ``run`` (keys.run_ref), ``ti`` (keys.ti_field), ``try``. Two
kinds are written by Lua, in the step that changes the try's claim, with exactly the fields
``to_fields`` gives them (``to_fields`` is their specification, and what the tests check);
the worker writes :class:`TryReleased` from Python. A try's outcome (success, failure, up for
retry, skipped, rescheduled...) is not a kind of its own: it travels as the
:class:`~airlane.engine.run_state.TaskOutcome` of a :class:`TryFinished`. The one reader is
the coordinator, through :func:`decode_completion` (one dataclass per entry, no other
allocation on this hot path but the ti field's split and a finished try's outcome).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import decode_outcome, encode_outcome
from airlane.queue.keys import run_ref, ti_field
from airlane.queue.protocol.records import (
    Fields,
    MalformedRecord,
    number_field,
    text_field,
    ti_key,
)


class CompletionKind(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    RELEASED = "released"
    RESUMED = "resumed"


@dataclass(frozen=True, slots=True)
class TryStarted:
    """A worker claimed a queued try and starts it:
    ``kind started run <ref> ti <field> try <n> worker <worker id> at <epoch s>``.

    Lua: ``CLAIM_MANY`` (scripts/claim.py) writes it, in the step that claims the try
    (``worker`` is its ARGV[1], ``at`` its ARGV[2]); no Python code sends it.
    """

    kind: ClassVar[CompletionKind] = CompletionKind.STARTED
    run: str
    ti: str
    task_id: str
    map_index: int
    try_number: int
    worker: str
    at_s: float

    def to_fields(self) -> Fields:
        return {
            "kind": self.kind.value,
            "run": self.run,
            "ti": self.ti,
            "try": str(self.try_number),
            "worker": self.worker,
            "at": repr(self.at_s),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TryStarted:
        ref, worker, at = _try_ref(fields), fields.get("worker"), fields.get("at")
        if ref is not None and type(worker) is str and worker and type(at) is str:
            try:
                return cls(*ref, worker, float(at))
            except ValueError:
                pass  # (the checks below say what is wrong)
        what = "started completion"
        ti = text_field(fields, "ti", what)
        task_id, map_index = ti_key(ti, what)
        return cls(
            text_field(fields, "run", what),
            ti,
            task_id,
            map_index,
            number_field(fields, "try", what, int),
            text_field(fields, "worker", what),
            number_field(fields, "at", what, float),
        )


@dataclass(frozen=True, slots=True)
class TryFinished:
    """A try ended, whatever its outcome:
    ``kind finished run <ref> ti <field> try <n> outcome <codec's outcome JSON>``.

    Lua: ``FINISH_MANY`` (scripts/finish.py) writes it, in the step that acknowledges the
    task message (``outcome`` is the worker's ``Finish.outcome``, encoded by
    ``codec.encode_outcome``); no Python code sends it.
    """

    kind: ClassVar[CompletionKind] = CompletionKind.FINISHED
    run: str
    ti: str
    task_id: str
    map_index: int
    try_number: int
    outcome: TaskOutcome
    #: the successor the finish script queued itself (the fast path), ``<ti field>|<try>``;
    #: "" when it queued none
    fast: str = ""

    def to_fields(self) -> Fields:
        fields = {
            "kind": self.kind.value,
            "run": self.run,
            "ti": self.ti,
            "try": str(self.try_number),
            "outcome": encode_outcome(self.outcome),
        }
        if self.fast:
            fields["fast"] = self.fast
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TryFinished:
        ref, raw = _try_ref(fields), fields.get("outcome")
        if ref is not None and type(raw) is str and raw:
            return cls(*ref, _outcome(raw), fields.get("fast", ""))
        what = "finished completion"
        ti = text_field(fields, "ti", what)
        task_id, map_index = ti_key(ti, what)
        outcome = _outcome(text_field(fields, "outcome", what))
        run, try_number = text_field(fields, "run", what), number_field(fields, "try", what, int)
        return cls(run, ti, task_id, map_index, try_number, outcome, fields.get("fast", ""))


def _outcome(raw: str) -> TaskOutcome:
    """codec's outcome JSON, its fields of the types the coordinator computes with."""
    try:
        outcome = decode_outcome(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise MalformedRecord(f"completion outcome {raw!r:.200}: {err!r}") from None
    follow = outcome.follow
    # (JSON's values are of these exact types: no isinstance, and a bool is no time)
    if not (
        type(outcome.ended_at_s) in _TIME
        and type(outcome.started_at_s) in _TIME
        and type(outcome.reschedule_at_s) in _TIME
        and type(outcome.error) in _TEXT
        and type(outcome.short_circuit) in _TEXT
        and type(outcome.asset_events) in _TEXT
        and (follow is None or all(isinstance(task_id, str) for task_id in follow))
    ):
        raise MalformedRecord(f"completion outcome with a field of the wrong type: {raw!r:.200}")
    return outcome


_TIME = frozenset({type(None), int, float})
_TEXT = frozenset({type(None), str})


def _try_ref(fields: Mapping[str, str]) -> tuple[str, str, str, int, int] | None:
    """(run, ti, task id, map index, try) of an entry whose fields are well formed, read
    without a call per field (two completions per try); None: the careful readers (text_field,
    ti_key, number_field) say what is wrong."""
    run, ti, try_text = fields.get("run"), fields.get("ti"), fields.get("try")
    if type(run) is not str or type(ti) is not str or type(try_text) is not str or not run:
        return None
    task_id, _, index = ti.rpartition("|")
    if not task_id:
        return None
    try:
        return run, ti, task_id, int(index), int(try_text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TryReleased:
    """A worker hands a claimed try back unstarted (it is queued again):
    ``kind released run <ref> ti <field> try <n>``.

    No Lua: the worker sends it (``worker/loop.py``), acknowledging the task message and
    dropping its claim reference in the same transaction.
    """

    kind: ClassVar[CompletionKind] = CompletionKind.RELEASED
    run: str
    ti: str
    task_id: str
    map_index: int
    try_number: int

    @classmethod
    def of(
        cls, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> TryReleased:
        ti = ti_field(task_id, map_index)
        return cls(run_ref(dag_id, run_id), ti, task_id, map_index, try_number)

    def to_fields(self) -> Fields:
        return {
            "kind": self.kind.value,
            "run": self.run,
            "ti": self.ti,
            "try": str(self.try_number),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TryReleased:
        what = "released completion"
        ti = text_field(fields, "ti", what)
        task_id, map_index = ti_key(ti, what)
        run, try_number = text_field(fields, "run", what), number_field(fields, "try", what, int)
        return cls(run, ti, task_id, map_index, try_number)


@dataclass(frozen=True, slots=True)
class TryResumed:
    """A deferred try's trigger fired, failed or timed out: the same try goes back to the queue
    (its ``resumes`` entry says how it resumes): ``kind resumed run <ref> ti <field> try <n>``.

    Lua: the triggerer's ``FIRE_TRIGGERS`` and ``TIME_OUT_DEFERRED`` (scripts/triggers.py) write
    it, in the step that removes the try's ``deferred`` entry; no Python code sends it.
    """

    kind: ClassVar[CompletionKind] = CompletionKind.RESUMED
    run: str
    ti: str
    task_id: str
    map_index: int
    try_number: int
    #: the try ended where its trigger fired, in this state (``end <state>``; see
    #: FIRE_TRIGGERS): it does not go back to the queue. "" (no field): it resumes.
    end: str = ""

    def to_fields(self) -> Fields:
        fields = {
            "kind": self.kind.value,
            "run": self.run,
            "ti": self.ti,
            "try": str(self.try_number),
        }
        if self.end:
            fields["end"] = self.end
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TryResumed:
        what = "resumed completion"
        ti = text_field(fields, "ti", what)
        task_id, map_index = ti_key(ti, what)
        run, try_number = text_field(fields, "run", what), number_field(fields, "try", what, int)
        end = fields.get("end", "")
        if end and end not in _END_STATES:
            raise MalformedRecord(f"{what}: end state {end!r} is not one a trigger ends in")
        return cls(run, ti, task_id, map_index, try_number, end)


#: the states a trigger's end event ends a task in (Airflow's TaskSuccessEvent, ...)
_END_STATES = frozenset({"success", "failed", "skipped"})


#: every completion, as the coordinator matches on it
Completion = TryStarted | TryFinished | TryReleased | TryResumed

_BY_KIND: dict[str, type[Completion]] = {
    cls.kind.value: cls for cls in (TryStarted, TryFinished, TryReleased, TryResumed)
}


def decode_completion(fields: Mapping[str, str]) -> Completion:
    """The completion a ``completions`` entry holds, or :class:`MalformedRecord` saying why
    not (the coordinator logs and skips it)."""
    cls = _BY_KIND.get(fields.get("kind", ""))
    if cls is None:
        raise MalformedRecord(f"completion of unknown kind: {dict(fields)!r:.300}")
    return cls.from_fields(fields)
