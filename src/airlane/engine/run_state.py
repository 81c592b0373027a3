"""The data the run state machine works on: task-instance keys, records, outcomes, steps."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from airlane.sdk.state import FINISHED_STATES, DagRunState, TaskInstanceState

TIState = TaskInstanceState


class TIKey(NamedTuple):
    """One task instance of a run: ``map_index`` is -1 unless the task is mapped.

    A named tuple, not a dataclass: it keys every map of the coordinator, and a tuple's hash
    and equality run in C (a dataclass's are Python functions, called several times per
    transition). Immutable and ordered (task id, then map index) all the same.
    """

    task_id: str
    map_index: int = -1

    def label(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass(frozen=True, slots=True)
class TIRecord:
    """What the state machine knows of one task instance; enough to rebuild it after a restart."""

    state: TIState = TIState.NONE
    #: the current (or last) try, 1-based; 0 before the first
    try_number: int = 0
    #: the last try that may still be retried (retries, raised when the instance is cleared)
    max_tries: int = 0
    #: when an up_for_retry / up_for_reschedule instance is due (epoch seconds)
    next_at_s: float | None = None
    #: first poke of a sensor in reschedule mode, for its timeout
    reschedule_started_at_s: float | None = None
    #: a branch's decision: the task (or group) ids it follows
    follow: tuple[str, ...] | None = None
    #: a short circuit's decision: "direct" or "all" downstream tasks skipped
    short_circuit: str | None = None
    #: skipped because an upstream short circuit skipped everything downstream of it
    cascade_skip: bool = False
    #: lengths of list/dict XCom values this instance pushed, by key (for mapping)
    xcom_lengths: tuple[tuple[str, int], ...] = ()
    #: why the machine put the instance in its state, when it decided it
    note: str | None = None
    #: the task's map_index_template as its last try rendered it (Airflow's rendered_map_index)
    rendered_map_index: str | None = None
    #: the current try was deferred and its trigger fired: it resumes (set until it ends)
    resumed: bool = False


#: TIRecord's slot setters, in field order: they write a slot as the dataclass's own
#: ``__init__`` does (the frozen ``__setattr__`` stays for everyone else)
_SETTERS = tuple(getattr(TIRecord, name).__set__ for name in TIRecord.__dataclass_fields__)
(_S_STATE, _S_TRY, _S_MAX, _S_NEXT, _S_RESCHEDULE, _S_FOLLOW, _S_SHORT, _S_CASCADE, _S_XCOM) = (
    _SETTERS[:9]
)
(_S_NOTE, _S_RENDERED, _S_RESUMED) = _SETTERS[9:]
_new = object.__new__


def moved(record: TIRecord, state: TIState, try_number: int, next_at_s: float | None) -> TIRecord:
    """``replace(record, state=..., try_number=..., next_at_s=...)``, the coordinator's most
    frequent change (scheduled, queued, running), without ``dataclasses.replace``'s generic
    walk over the fields and keyword arguments: a third of its cost."""
    new = _new(TIRecord)
    _S_STATE(new, state)
    _S_TRY(new, try_number)
    _S_MAX(new, record.max_tries)
    _S_NEXT(new, next_at_s)
    _S_RESCHEDULE(new, record.reschedule_started_at_s)
    _S_FOLLOW(new, record.follow)
    _S_SHORT(new, record.short_circuit)
    _S_CASCADE(new, record.cascade_skip)
    _S_XCOM(new, record.xcom_lengths)
    _S_NOTE(new, record.note)
    _S_RENDERED(new, record.rendered_map_index)
    _S_RESUMED(new, record.resumed)
    return new


def instance_summary(record: TIRecord) -> dict[str, object]:
    """An instance as ``dags test --json`` and the CLI's run summaries show it."""
    summary: dict[str, object] = {"state": record.state.value, "try_number": record.try_number}
    if record.rendered_map_index is not None:
        summary["rendered_map_index"] = record.rendered_map_index
    return summary


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What a worker reports when a try ends."""

    state: TIState  # success, failed, skipped, up_for_reschedule or deferred
    try_number: int
    retryable: bool = True
    error: str | None = None
    follow: tuple[str, ...] | None = None
    short_circuit: str | None = None
    reschedule_at_s: float | None = None
    started_at_s: float | None = None
    xcom_lengths: tuple[tuple[str, int], ...] = ()
    #: when the try ended on its worker (epoch seconds)
    ended_at_s: float | None = None
    #: the task's map_index_template rendered after the try ran
    rendered_map_index: str | None = None
    #: a deferred try's trigger and how it resumes, as JSON text for the triggerer (opaque
    #: here: see service.execution.deferral); None for every other outcome
    deferral: str | None = None
    #: the asset events a successful try's outlets emitted, as JSON text (a list of
    #: ``{"asset", "extra", "source_alias_names"}``, opaque here: see queue/assets.py); None
    #: when the worker reported none (the coordinator then records the task's outlets as is)
    asset_events: str | None = None
    #: a retry policy's delay for this retry (seconds after the try's end), in place of the
    #: task's retry_delay and backoff; None: the task's own
    retry_delay_s: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A task instance changed: ``record`` None means the key was removed (mapping expanded)."""

    key: TIKey
    old: TIState | None
    record: TIRecord | None
    reason: str
    #: the old record's try when its trigger had resumed it (TIRecord.resumed), else None
    resuming_try: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """The result of feeding one event to the machine."""

    transitions: tuple[Transition, ...] = ()
    #: instances that became scheduled, highest priority first: send them to workers
    ready: tuple[TIKey, ...] = ()
    run_state: DagRunState = DagRunState.RUNNING
    #: earliest time an up_for_retry / up_for_reschedule instance becomes due
    next_due_s: float | None = None
    #: instances that were running and were cleared: stop them
    to_stop: tuple[TIKey, ...] = field(default_factory=tuple)


def ended(
    record: TIRecord,
    outcome: TaskOutcome,
    state: TIState,
    next_at_s: float | None = None,
    *,
    rescheduled_s: float | None = None,
    success: bool = False,
) -> TIRecord:
    """The record after a try ended in ``state``: what every outcome sets (its note, XCom
    lengths and rendered map index; no longer resumed), a success's branch and short-circuit
    decisions, the rest kept. Built slot by slot as :func:`moved` (once per try)."""
    new = _new(TIRecord)
    _S_STATE(new, state)
    _S_TRY(new, record.try_number)
    _S_MAX(new, record.max_tries)
    _S_NEXT(new, next_at_s)
    _S_RESCHEDULE(new, rescheduled_s)
    _S_FOLLOW(new, outcome.follow if success else record.follow)
    _S_SHORT(new, outcome.short_circuit if success else record.short_circuit)
    _S_CASCADE(new, record.cascade_skip)
    _S_XCOM(new, outcome.xcom_lengths)
    _S_NOTE(new, outcome.error)
    _S_RENDERED(new, outcome.rendered_map_index)
    _S_RESUMED(new, False)
    return new


#: Transition's and Step's slot setters, for their constructors below
_T_KEY, _T_OLD, _T_RECORD, _T_REASON, _T_RESUMING = (
    getattr(Transition, name).__set__ for name in Transition.__dataclass_fields__
)
_P_TRANSITIONS, _P_READY, _P_RUN_STATE, _P_NEXT_DUE, _P_TO_STOP = (
    getattr(Step, name).__set__ for name in Step.__dataclass_fields__
)


def transition(
    key: TIKey,
    old: TIState | None,
    record: TIRecord | None,
    reason: str,
    resuming_try: int | None = None,
) -> Transition:
    """``Transition(key, old, record, reason, resuming_try)`` without the frozen dataclass's
    ``__init__`` (one per transition: its generated setattr calls are most of its cost)."""
    new = _new(Transition)
    _T_KEY(new, key)
    _T_OLD(new, old)
    _T_RECORD(new, record)
    _T_REASON(new, reason)
    _T_RESUMING(new, resuming_try)
    return new


_NO_KEYS: tuple[TIKey, ...] = ()


def step(
    transitions: tuple[Transition, ...],
    ready: tuple[TIKey, ...],
    run_state: DagRunState,
    next_due_s: float | None,
) -> Step:
    """``Step(transitions, ready, run_state, next_due_s)`` (nothing to stop), built as
    :func:`transition` (one per event the state machine takes)."""
    new = _new(Step)
    _P_TRANSITIONS(new, transitions)
    _P_READY(new, ready)
    _P_RUN_STATE(new, run_state)
    _P_NEXT_DUE(new, next_due_s)
    _P_TO_STOP(new, _NO_KEYS)
    return new


#: the states Airflow's run marks treat as running (``_set_dag_run_terminal_state``)
MARKED_AS_RUNNING = frozenset({TIState.RUNNING, TIState.DEFERRED, TIState.UP_FOR_RESCHEDULE})


def run_mark(
    tis: Mapping[TIKey, TIRecord], teardowns: Collection[str], run_state: TIState
) -> list[tuple[TIKey, TIState]]:
    """What marking a whole run success or failed (``run_state``: the instances' state for
    it) does to its instances, as Airflow 3.3's ``_set_dag_run_terminal_state``: running ones
    take the state, unfinished ones are skipped, finished ones keep theirs; a teardown not
    finished is left to do its work."""
    marks = []
    for key, record in tis.items():
        state = record.state
        if state in FINISHED_STATES or key.task_id in teardowns:
            continue
        marks.append((key, run_state if state in MARKED_AS_RUNNING else TIState.SKIPPED))
    return marks
