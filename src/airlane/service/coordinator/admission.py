"""Admission: which ready instances go to a worker now, and which queued runs may start.

An instance goes when its DAG is under ``max_active_tasks`` and its pool has room for its
``pool_slots``; the instances of a DAG wait in one line, in the order they became ready (the
state machine lists the instances each step makes ready highest ``priority_weight`` first),
and the first one that does not fit holds the line. A run
starts while its DAG is unpaused and under ``max_active_runs`` (backfill runs follow their
backfill's own limit). A deferred instance holds no slot of its DAG; it holds its pool's slots
while it waits only when that pool includes deferred instances (Airflow's
``Pool.include_deferred``, false by default: ``Pool.slots_stats`` takes them off the pool's open
slots then). The functions on plain data come first; :class:`Admission` applies
them to the session.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airlane.engine.dag_spec import DEFAULT_MAX_ACTIVE_TASKS, DagSpec
from airlane.engine.graph import TaskSpec
from airlane.engine.run_state import TIKey
from airlane.queue import typed
from airlane.queue.protocol import decoded_or_none
from airlane.queue.scripts import Batch
from airlane.sdk.state import TaskInstanceState
from airlane.service.coordinator.settings import DEFAULT_POOL_SLOTS
from airlane.service.coordinator.state import AdmissionState, RunTI
from airlane.service.run_context import Persister, RunContext
from airlane.service.stored_records import PoolRecord, decode_pool

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")
S = TaskInstanceState
#: Airflow's default for a DAG's max_active_tasks and max_active_runs (see engine.dag_spec)
DEFAULT_MAX_ACTIVE = DEFAULT_MAX_ACTIVE_TASKS


def pool_limit(pool_slots: Mapping[str, int], pool: str) -> float:
    """How many slots ``pool`` has: -1 is unlimited (as in Airflow), an unknown pool none."""
    if pool in pool_slots:
        slots = pool_slots[pool]
        return float("inf") if slots < 0 else slots
    return DEFAULT_POOL_SLOTS if pool == "default_pool" else 0


def max_active_tasks(dag: Mapping[str, Any]) -> int:
    return DagSpec.from_serialized(dag).max_active_tasks


def pool_occupied(state: AdmissionState, pool: str) -> int:
    """The slots of ``pool`` its instances hold: queued and running ones, and deferred ones
    when the pool includes them (Airflow's ``Pool.occupied_slots``)."""
    held = state.pool_held[pool]
    if pool in state.pools_holding_deferred:
        held += state.pool_deferred[pool]
    return held


def has_room(state: AdmissionState, dag_id: str, max_tasks: int, spec: TaskSpec) -> bool:
    """Whether one more instance of ``spec`` fits in its DAG's and its pool's slots."""
    if state.held[dag_id] >= max_tasks:
        return False
    occupied = pool_occupied(state, spec.pool)
    return occupied + spec.pool_slots <= pool_limit(state.pool_slots, spec.pool)


def task_has_room(state: AdmissionState, ref: str, dag_id: str, spec: TaskSpec) -> bool:
    """Whether one more instance of ``spec`` fits in the task's own limits, across the DAG's
    runs and within run ``ref`` (Airflow counts queued and running instances)."""
    per_dag, per_run = spec.max_active_tis_per_dag, spec.max_active_tis_per_dagrun
    if per_dag is not None and state.task_held[(dag_id, spec.task_id)] >= per_dag:
        return False
    return per_run is None or state.run_task_held[(ref, spec.task_id)] < per_run


def take_slots(state: AdmissionState, ref: str, dag_id: str, spec: TaskSpec) -> None:
    state.held[dag_id] += 1
    state.pool_held[spec.pool] += spec.pool_slots
    # get, not the counters' Python-level __missing__: these keys are new for most tries
    task_held, run_task_held = state.task_held, state.run_task_held
    task_key, run_key = (dag_id, spec.task_id), (ref, spec.task_id)
    task_held[task_key] = task_held.get(task_key, 0) + 1
    run_task_held[run_key] = run_task_held.get(run_key, 0) + 1


def release_slots(state: AdmissionState, ref: str, dag_id: str, spec: TaskSpec) -> None:
    state.held[dag_id] -= 1
    state.pool_held[spec.pool] -= spec.pool_slots
    _decrement(state.task_held, (dag_id, spec.task_id))
    _decrement(state.run_task_held, (ref, spec.task_id))


def deferral_change(old: S | None, new: S | None) -> int:
    """1: an instance became deferred; -1: it no longer is (resumed, cleared, marked, ended
    by its trigger, timed out); 0: neither."""
    return int(new is S.DEFERRED) - int(old is S.DEFERRED)


def count_deferred(state: AdmissionState, spec: TaskSpec, change: int) -> None:
    """Count an instance of ``spec`` into (``change`` 1) or out of (-1) its pool's deferred
    slots."""
    held = state.pool_deferred[spec.pool] + change * spec.pool_slots
    if held > 0:
        state.pool_deferred[spec.pool] = held
    else:
        state.pool_deferred.pop(spec.pool, None)


def pool_limits(records: Mapping[str, PoolRecord]) -> tuple[dict[str, int], frozenset[str]]:
    """Each pool's size, and the pools whose deferred instances hold their slots."""
    slots = {name: record.slots for name, record in records.items()}
    return slots, frozenset(name for name, r in records.items() if r.include_deferred)


def _decrement(counter: Counter[tuple[str, str]], key: tuple[str, str]) -> None:
    held = counter[key] - 1
    if held > 0:
        counter[key] = held
    else:
        counter.pop(key, None)  # a run's entries go with its last instance


def active_runs_of(runs: Iterable[RunContext], dag_id: str) -> int:
    """Runs of ``dag_id`` that count against its max_active_runs (backfills do not)."""
    return sum(
        1 for ctx in runs if ctx.dag_id == dag_id and ctx.fields.get("run_type") != "backfill"
    )


def under_max_active_runs(dag: Mapping[str, Any] | DagSpec, active: int) -> bool:
    """Whether one more run may start. A max_active_runs of 0 sets no limit here, as in Airflow's
    scheduler (``elif dag_run.max_active_runs:``): triggered runs start, while no scheduled run
    is created for such a DAG (``scheduling.scheduler``)."""
    spec = dag if isinstance(dag, DagSpec) else DagSpec.from_serialized(dag)
    return not spec.max_active_runs or active < spec.max_active_runs


def runs_going(runs: Iterable[RunContext], queued_refs: Mapping[str, set[str]]) -> dict[str, int]:
    """Runs per DAG, running or queued, as the scheduler counts them against max_active_runs."""
    going: Counter[str] = Counter(ctx.dag_id for ctx in runs)
    for dag_id, refs in queued_refs.items():
        going[dag_id] += len(refs)
    return dict(going)


class Admission:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.state = session.state.admission

    async def load_pools(self) -> None:
        s = self.session
        raw = await typed.hgetall(s.client, s.keys.pools)
        decoded = {name: decoded_or_none(decode_pool, v, "pool", log) for name, v in raw.items()}
        records = {name: r for name, r in decoded.items() if r is not None}
        self.state.pool_slots, self.state.pools_holding_deferred = pool_limits(records)

    def recheck_all(self) -> None:
        """Every DAG with a waiting line gets another look at the next flush."""
        self.state.touched_dags.update(self.state.waiting)

    async def may_start(
        self, dag_id: str, spec: DagSpec, run_type: str | None, paused: bool | None = None
    ) -> bool:
        """``paused``: whether the DAG is paused, when the caller has read it (else read)."""
        if run_type == "backfill":
            return True  # as in Airflow 3: the backfill's own max_active_runs and pause rule
        s = self.session
        if paused is None:
            paused = bool(await s.client.sismember(s.keys.paused, dag_id))
        if paused:
            return False
        return under_max_active_runs(spec, active_runs_of(s.state.runs.runs.values(), dag_id))

    def dispatch_touched(self) -> None:
        """Queue the instances that fit, from the lines of the DAGs touched since last time."""
        now = time.time()
        for dag_id in self.state.touched_dags:
            line = self.state.waiting.get(dag_id)
            if line:
                self._dispatch_line(dag_id, line, now)
        self.state.touched_dags.clear()

    def _dispatch_line(self, dag_id: str, line: deque[RunTI], now: float) -> None:
        """The first instance that does not fit its DAG or pool holds the line; one over its
        own task's limit steps aside and keeps its place (as Airflow's scheduler moves on to
        the next instance)."""
        runs = self.session.state.runs.runs
        going = _Going(self.session.outbox.persister, self.session.outbox.batch, now)
        aside: list[RunTI] = []
        while line:
            ref, key = line[0]
            ctx = runs.get(ref)
            # (no default TIRecord built for the lookup: this runs per instance)
            record = None if ctx is None else ctx.machine.tis.get(key)
            if ctx is None or record is None or record.state is not S.SCHEDULED:
                line.popleft()  # gone, or no longer waiting to go
                continue
            spec = ctx.graph.tasks[key.task_id]
            if not has_room(self.state, dag_id, ctx.spec.max_active_tasks, spec):
                break  # waits for a slot of its DAG or its pool, in the DAG's order
            if not task_has_room(self.state, ref, dag_id, spec):
                aside.append(line.popleft())
                continue
            line.popleft()
            ctx.machine.task_queued(key)
            going.add(ctx, key, spec.queue)
            take_slots(self.state, ref, dag_id, spec)
        going.write()
        line.extendleft(reversed(aside))


class _Going:
    """The instances one dispatch queues, written in bulk: consecutive ones of the same run
    and queue go to the persister together (Persister.enqueue_many), in the same order."""

    def __init__(self, persister: Persister, batch: Batch, now_s: float) -> None:
        self.persister, self.batch, self.now_s = persister, batch, now_s
        self.ctx: RunContext | None = None
        self.queue = ""
        self.keys: list[TIKey] = []

    def add(self, ctx: RunContext, key: TIKey, queue: str) -> None:
        if ctx is not self.ctx or queue != self.queue:
            self.write()
            self.ctx, self.queue = ctx, queue
        self.keys.append(key)

    def write(self) -> None:
        if self.ctx is not None and self.keys:
            self.persister.enqueue_many(self.batch, self.ctx, self.keys, self.queue, self.now_s)
        self.keys = []
