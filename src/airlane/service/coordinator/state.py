"""Everything the coordinator holds while it holds the lease, in named parts.

A coordinator that takes the lease starts from a fresh :class:`SessionState` (the one place
these parts are created) and rebuilds it from Redis; losing the lease drops it whole.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from airlane.engine.dag_spec import DagSpec
from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TIKey
from airlane.service.run_context import RunContext

#: a task instance of a run: (run ref, instance key)
RunTI = tuple[str, TIKey]
#: a try by (run ref, instance field, try number), as workers and completions name it
TryRef = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class RunningTry:
    """Where a running instance runs, and which try it is."""

    worker_id: str
    try_number: int


@dataclass(slots=True)
class RunRegistry:
    """The runs this coordinator drives and those waiting to start."""

    runs: dict[str, RunContext] = field(default_factory=dict)
    #: serialized DAG and its graph, by content hash
    graphs: dict[str, tuple[dict[str, Any], DagGraph]] = field(default_factory=dict)
    #: the typed DAG-level settings of those versions, by content hash (built once each)
    specs: dict[str, DagSpec] = field(default_factory=dict)
    #: runs not running yet, by DAG: waiting for room, or created and not yet seen
    queued_refs: dict[str, set[str]] = field(default_factory=dict)
    #: DAGs with a run that ended: their queued runs may start now
    pending_starts: set[str] = field(default_factory=set)
    #: queued runs triggered for later, until their ``run_after`` (epoch s; policies/run_after)
    held_until: dict[str, float] = field(default_factory=dict)

    def run_ended(self, ref: str) -> None:
        self.runs.pop(ref, None)


@dataclass(slots=True)
class AdmissionState:
    """Instances on their way to a worker, and the slots they take."""

    #: instances the state machine made ready, not yet sorted out
    ready: deque[RunTI] = field(default_factory=deque)
    #: ready instances waiting for a slot, per DAG, in order
    waiting: dict[str, deque[RunTI]] = field(default_factory=dict)
    #: queued and running instances, per DAG
    held: Counter[str] = field(default_factory=Counter)
    #: pool slots taken by queued and running instances, and each pool's size
    pool_held: Counter[str] = field(default_factory=Counter)
    pool_slots: dict[str, int] = field(default_factory=dict)
    #: pool slots of deferred instances, whatever their pool's include_deferred (a pool's
    #: flag may change while they wait), and the pools whose deferred instances hold them
    pool_deferred: Counter[str] = field(default_factory=Counter)
    pools_holding_deferred: frozenset[str] = frozenset()
    #: queued and running instances per (DAG, task) and per (run ref, task), for the tasks'
    #: max_active_tis_per_dag and max_active_tis_per_dagrun
    task_held: Counter[tuple[str, str]] = field(default_factory=Counter)
    run_task_held: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: DAGs whose waiting instances may have room now
    touched_dags: set[str] = field(default_factory=set)


@dataclass(slots=True)
class RecoveryState:
    """What tells a lost try: where each one runs and what its worker last said."""

    running_on: dict[RunTI, RunningTry] = field(default_factory=dict)
    #: how many fresh heartbeats in a row of its worker did not list a running instance
    unreported: Counter[RunTI] = field(default_factory=Counter)
    #: each worker's latest heartbeat time seen
    last_beat_s: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class PastState:
    """depends_on_past: ready instances waiting on the previous run, and those let go."""

    waiting: dict[RunTI, None] = field(default_factory=dict)
    allowed: set[RunTI] = field(default_factory=set)
    #: (dag_id, task_id) of tasks an earlier run is known to have had (for
    #: ignore_first_depends_on_past: the answer stays yes)
    had_task: set[tuple[str, str]] = field(default_factory=set)
    #: an instance joined ``waiting`` since the last check
    new: bool = False
    checked_s: float = 0.0


@dataclass(slots=True)
class SessionState:
    runs: RunRegistry = field(default_factory=RunRegistry)
    admission: AdmissionState = field(default_factory=AdmissionState)
    recovery: RecoveryState = field(default_factory=RecoveryState)
    past: PastState = field(default_factory=PastState)
    #: when retries and reschedules are due: a heap of (epoch seconds, run ref)
    due: list[tuple[float, str]] = field(default_factory=list)
    #: DAGs whose run just failed: auto-paused when their last runs all failed
    failure_checks: set[str] = field(default_factory=set)
    #: a backfill changed or a second passed: let backfills take their next dates
    advance_backfills: bool = True
