"""The run state machine (pure, no I/O): what runs next in one DAG run.

Feed it events (start, a try finished, time passed, clear, mark) and it returns a :class:`Step`:
the task-instance transitions to record, the instances that became ready, and the run's state.
It keeps per-task counts of upstream states, updated on every change, so an event costs time
proportional to the edges it touches, not to the size of the run.
"""

from __future__ import annotations

import heapq
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import NamedTuple

from airlane.engine import expansion, fail_fast
from airlane.engine.graph import DagGraph, TaskSpec
from airlane.engine.retry_policy import is_eligible_to_retry, retry_delay_s
from airlane.engine.run_state import (
    Step,
    TaskOutcome,
    TIKey,
    TIRecord,
    Transition,
    ended,
    moved,
    step,
    transition,
)
from airlane.engine.setup_teardown import setup_constraint
from airlane.engine.trigger_rules import RuleDecision, UpstreamCounts, evaluate_trigger_rule
from airlane.sdk.state import (
    FAILED_STATES,
    FINISHED_STATES,
    DagRunState,
    TaskInstanceState,
)
from airlane.sdk.trigger_rule import TEARDOWN_RULE, TriggerRule

S = TaskInstanceState
# Index of each finished state in the per-task upstream counters; slot 5 counts all instances.
_SLOT = {S.SUCCESS: 0, S.SKIPPED: 1, S.FAILED: 2, S.UPSTREAM_FAILED: 3, S.REMOVED: 4}
_TOTAL = 5
_ACTIVE = frozenset(
    {
        S.SCHEDULED,
        S.QUEUED,
        S.RUNNING,
        S.UP_FOR_RETRY,
        S.UP_FOR_RESCHEDULE,
        S.DEFERRED,
        S.RESTARTING,
    }
)
_FINISHED, _ACTIVE_KIND, _OTHER = "finished", "active", "other"
#: each state's kind, for the counts run_state reads
_KIND = {
    state: _FINISHED if state in FINISHED_STATES else _ACTIVE_KIND if state in _ACTIVE else _OTHER
    for state in TaskInstanceState
}
_RUNNABLE_FROM = frozenset({S.SCHEDULED, S.QUEUED, S.RUNNING})
#: what clearing an instance stops: a try on a worker, or a deferred try's trigger
_STOPPABLE = _RUNNABLE_FROM | {S.DEFERRED}


def initial_records(graph: DagGraph) -> dict[TIKey, TIRecord]:
    """One instance in state none per task (a mapped task starts as one unexpanded instance)."""
    return {TIKey(t): TIRecord(max_tries=spec.retries) for t, spec in graph.tasks.items()}


class _Fresh(NamedTuple):
    """What a new run of a DAG version starts from (no reference to the graph: a value that
    held it would keep its weak key, and every DAG version, alive for ever)."""

    tis: dict[TIKey, TIRecord]
    keys_by_task: dict[str, list[TIKey]]
    up: dict[str, list[int]]
    up_at: dict[tuple[str, int], list[int]]
    finished: int
    active: int
    due: list[tuple[float, TIKey]]


#: the state of a new run of each DAG version, built once: a new run copies it (the records of
#: its instances, all in state none, are the same for every run)
_FRESH_RUNS: weakref.WeakKeyDictionary[DagGraph, _Fresh] = weakref.WeakKeyDictionary()


#: the state of a new run of each DAG version just after its start, and that start's step: a
#: new run's start depends on its graph only (all its instances in state none, no time read),
#: so it is computed once per version and copied (the step, immutable, is shared)
_STARTED_RUNS: weakref.WeakKeyDictionary[DagGraph, tuple[_Fresh, Step]] = (
    weakref.WeakKeyDictionary()
)


def _snapshot(m: RunMachine) -> _Fresh:
    return _Fresh(m.tis, m.keys_by_task, m._up, m._up_at, m._finished, m._active, m._due)


def prepare_new_runs(graph: DagGraph) -> None:
    """Compute now what a new run of ``graph`` starts from and its start (see _STARTED_RUNS),
    so that the first run of a DAG version does not wait for it."""
    if graph not in _STARTED_RUNS:
        RunMachine(graph).start(0.0)


def _fresh_run(graph: DagGraph) -> _Fresh:
    fresh = _FRESH_RUNS.get(graph)
    if fresh is None:
        fresh = _FRESH_RUNS[graph] = _snapshot(RunMachine(graph, initial_records(graph)))
    return fresh


class RunMachine:
    """The state of one DAG run's task instances and the rules that move them."""

    def __init__(
        self,
        graph: DagGraph,
        records: Mapping[TIKey, TIRecord] | None = None,
        *,
        ti_identity: str = "",
    ) -> None:
        self.graph = graph
        self.ti_identity = ti_identity
        self.tis: dict[TIKey, TIRecord] = {}
        self.keys_by_task: dict[str, list[TIKey]] = {}
        self._up: dict[str, list[int]] = {}
        #: counts of upstream instances of the same map index, for the tasks of mapped task
        #: groups (graph.per_index_edges): (task id, map index) -> the six counters of _up
        self._up_at: dict[tuple[str, int], list[int]] = {}
        #: map indexes of a task in _work to evaluate; a task absent here: all of them
        self._dirty: dict[str, set[int]] = {}
        #: instances in a finished state, and in an active one (see run_state), kept as the
        #: records change (no count over the states per step)
        self._finished = 0
        self._active = 0
        self._due: list[tuple[float, TIKey]] = []
        self._changes: list[Transition] = []
        self._ready: list[TIKey] = []
        #: tasks to evaluate, in order, each at most once (a deque: popping the front of a
        #: dict is not O(1) once many entries have been deleted from it)
        self._work: deque[str] = deque()
        self._in_work: set[str] = set()
        #: instances woken while their try ran: due at once if that try asks to wait
        self._woken: set[TIKey] = set()
        #: the fresh state this machine was copied from, while nothing has moved it
        self._fresh: _Fresh | None = None
        if records is None:
            self._fresh = _fresh_run(graph)
            self._copy_fresh(self._fresh)
            return
        self.keys_by_task = {t: [] for t in graph.tasks}
        self._up = {t: [0] * 6 for t in graph.tasks}
        for key, record in records.items():
            self._insert(key, record)

    def _copy_fresh(self, fresh: _Fresh) -> None:
        """Start as ``fresh`` (a new run of the same graph): its records and keys are immutable
        and shared, its counters copied (see _fresh_run)."""
        self.tis = dict(fresh.tis)
        self.keys_by_task = {task_id: list(keys) for task_id, keys in fresh.keys_by_task.items()}
        self._up = {task_id: list(counts) for task_id, counts in fresh.up.items()}
        self._up_at = {key: list(counts) for key, counts in fresh.up_at.items()}
        self._finished, self._active = fresh.finished, fresh.active
        self._due = list(fresh.due)

    # ---- events -------------------------------------------------------------------------

    def start(self, now_s: float) -> Step:
        """Evaluate every task (a new run, or a run rebuilt from its records)."""
        if self._untouched():
            started = _STARTED_RUNS.get(self.graph)
            if started is not None:
                self._copy_fresh(started[0])
                self._fresh = None
                return started[1]
        fresh = self._untouched()
        self._add_work(self.graph.tasks)
        step = self._step(now_s)
        if fresh:
            copy = RunMachine(self.graph)
            copy._copy_fresh(_snapshot(self))
            _STARTED_RUNS[self.graph] = (_snapshot(copy), step)
        self._fresh = None
        return step

    def _untouched(self) -> bool:
        """Whether this machine is a new run, still in its version's fresh state."""
        fresh = self._fresh
        return (
            fresh is not None
            and not (self._changes or self._ready or self._work or self._woken)
            and self._due == fresh.due
            and self.tis == fresh.tis
        )

    def task_queued(self, key: TIKey) -> None:
        record = self.tis[key]
        if record.state is S.SCHEDULED:
            self._set_active(key, moved(record, S.QUEUED, record.try_number, record.next_at_s))

    def reserve_try(self, key: TIKey, try_number: int) -> None:
        """A try numbered ``try_number`` may have been claimed outside this machine's
        decisions (a fast-path successor it overruled): the next try is numbered after it, as
        a worker's claim refuses a number it has seen. The state stays (no counter moves)."""
        record = self.tis.get(key)
        if record is not None and record.try_number < try_number:
            self.tis[key] = moved(record, record.state, try_number, record.next_at_s)

    def task_started(self, key: TIKey, try_number: int) -> bool:
        """A worker starts ``key``; False when that try is stale (fencing)."""
        record = self.tis.get(key)
        if record is None or record.try_number != try_number or record.state not in _RUNNABLE_FROM:
            return False
        if record.state is not S.RUNNING:
            self._set_active(key, moved(record, S.RUNNING, record.try_number, record.next_at_s))
        return True

    def task_finished(self, key: TIKey, outcome: TaskOutcome, now_s: float) -> Step:
        """A try ended; the outcome of a stale try (cleared, retried, duplicated) is ignored."""
        record = self.tis.get(key)
        if (
            record is None
            or record.try_number != outcome.try_number
            or record.state not in _RUNNABLE_FROM
        ):
            return self._step(now_s)
        after = self._after_try(key, record, outcome, now_s)
        self._set(key, after, outcome.error or "finished")
        if after.state is S.FAILED and self.graph.fail_fast:
            return self._stop_others(key, now_s)
        return self._step(now_s)

    def task_resumed(self, key: TIKey, try_number: int, now_s: float) -> Step:
        """The trigger of a deferred try fired: the same try goes back to the queue (Airflow
        keeps the try number of a resumed try: deferral uses up no retry)."""
        record = self.tis.get(key)
        if record is None or record.try_number != try_number or record.state is not S.DEFERRED:
            return self._step(now_s)
        self._set(key, replace(record, state=S.SCHEDULED, resumed=True), "resumed by its trigger")
        self._ready.append(key)
        return self._step(now_s)

    def task_ended_by_trigger(
        self, key: TIKey, try_number: int, state: TaskInstanceState, now_s: float
    ) -> Step:
        """The trigger of a deferred try ended the task where it fired (Airflow's
        ``end_from_trigger``, or a resume that would only return): ``state`` without a
        worker, and without a retry (as Airflow's triggerer sets it). A stale one is ignored."""
        record = self.tis.get(key)
        if record is None or record.try_number != try_number or record.state is not S.DEFERRED:
            return self._step(now_s)
        error = None if state is S.SUCCESS else f"ended {state.value} by its trigger"
        outcome = TaskOutcome(
            state, try_number, retryable=False, error=error, xcom_lengths=record.xcom_lengths
        )
        after = self._after_try(key, record, outcome, now_s)
        self._set(key, after, error or "ended by its trigger")
        if after.state is S.FAILED and self.graph.fail_fast:
            return self._stop_others(key, now_s)
        return self._step(now_s)

    def _stop_others(self, failed: TIKey, now_s: float) -> Step:
        """Fail-fast: the others stop (see engine.fail_fast), the running ones told to."""
        marks, running = fail_fast.stop_marks(self.tis, failed, self.graph.teardowns)
        for key, state in marks:
            note = f"{state} by fail_fast: {failed.task_id} failed"
            self._set(key, replace(self.tis[key], state=state, next_at_s=None, note=note), note)
        return replace(self._step(now_s), to_stop=running)

    def task_released(self, key: TIKey, try_number: int, now_s: float) -> Step:
        """A worker handed the try back unfinished (shutdown): run the same try again."""
        record = self.tis.get(key)
        if record is None or record.try_number != try_number or record.state not in _RUNNABLE_FROM:
            return self._step(now_s)
        again = moved(record, S.SCHEDULED, record.try_number, record.next_at_s)
        self._set(key, again, "handed back by its worker")
        self._ready.append(key)
        return self._step(now_s)

    def tick(self, now_s: float) -> Step:
        """Schedule the up_for_retry / up_for_reschedule instances that are due."""
        while self._due and self._due[0][0] <= now_s:
            due_s, key = heapq.heappop(self._due)
            record = self.tis.get(key)
            if (
                record
                and record.state in (S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE)
                and record.next_at_s == due_s
            ):
                self._schedule(key, record)
        return self._step(now_s)

    def wake(self, key: TIKey, now_s: float) -> Step:
        """Schedule a waiting (up_for_reschedule) instance now, ahead of its due time; one
        whose try is under way waits no longer if that try ends asking to wait."""
        record = self.tis.get(key)
        if record is not None and record.state is S.UP_FOR_RESCHEDULE:
            self._schedule(key, record)
        elif record is not None and record.state in _RUNNABLE_FROM:
            self._woken.add(key)
        return self._step(now_s)

    def clear(self, task_ids: Iterable[str], now_s: float) -> Step:
        """Reset every instance of ``task_ids`` so that they (and only they) run again."""
        to_stop: list[TIKey] = []
        for task_id in task_ids:
            spec = self.graph.tasks[task_id]
            keys = list(self.keys_by_task[task_id])
            to_stop.extend(k for k in keys if self.tis[k].state in _STOPPABLE)
            last_try = max((self.tis[k].try_number for k in keys), default=0)
            if self.graph.expansion(task_id) is not None:
                for key in keys:
                    self._remove(key, "cleared")
                fresh = TIRecord(try_number=last_try, max_tries=last_try + spec.retries)
                self._insert(TIKey(task_id), fresh, reason="cleared")
            else:
                for key in keys:
                    record = self.tis[key]
                    fresh = TIRecord(
                        try_number=record.try_number, max_tries=record.try_number + spec.retries
                    )
                    self._set(key, fresh, "cleared")
            self._add_work((task_id,))
        step = self._step(now_s)
        return replace(step, to_stop=tuple(to_stop))

    def mark(self, key: TIKey, state: TaskInstanceState, now_s: float) -> Step:
        """Set an instance's state by hand (mark success / failed / skipped)."""
        return self.mark_many(((key, state),), now_s)

    def mark_many(self, marks: Iterable[tuple[TIKey, TaskInstanceState]], now_s: float) -> Step:
        """Set several instances' states by hand in one step: what follows from them (the
        run's end, downstream work) is decided once, after all of them."""
        for key, state in marks:
            record = self.tis[key]
            self._set(
                key, replace(record, state=state, next_at_s=None, note=f"marked {state}"), "marked"
            )
        return self._step(now_s)

    # ---- queries ------------------------------------------------------------------------

    def run_state(self) -> DagRunState:
        unfinished = len(self.tis) - self._finished
        if unfinished == 0:
            for task_id in self.graph.state_leaves:
                if any(self.tis[k].state in FAILED_STATES for k in self.keys_by_task[task_id]):
                    return DagRunState.FAILED
            return DagRunState.SUCCESS
        if not self._active:
            return DagRunState.FAILED  # nothing can make progress: fail rather than hang
        return DagRunState.RUNNING

    def scheduled_keys(self) -> list[TIKey]:
        return self._by_priority(k for k, r in self.tis.items() if r.state is S.SCHEDULED)

    def next_due_s(self) -> float | None:
        while self._due:
            due_s, key = self._due[0]
            record = self.tis.get(key)
            if (
                record
                and record.next_at_s == due_s
                and record.state in (S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE)
            ):
                return due_s
            heapq.heappop(self._due)
        return None

    def upstream_counts(self, task_id: str, map_index: int = -1) -> UpstreamCounts:
        """Counts of the upstream instances ``task_id``'s instance ``map_index`` depends on."""
        c = self._up[task_id]
        at = self._up_at.get((task_id, map_index)) if map_index >= 0 else None
        if at is not None:
            c = [a + b for a, b in zip(c, at, strict=True)]
        return UpstreamCounts(c[_TOTAL], c[0], c[1], c[2], c[3], c[4])

    # ---- internals ----------------------------------------------------------------------

    def _step(self, now_s: float) -> Step:
        while self._work:
            task_id = self._work.popleft()
            self._in_work.discard(task_id)
            self._evaluate(self.graph.tasks[task_id], self._dirty.pop(task_id, None))
        ready = self._ready
        done = step(
            tuple(self._changes),
            tuple(self._by_priority(ready)) if len(ready) > 1 else tuple(ready),
            self.run_state(),
            self.next_due_s() if self._due else None,
        )
        self._changes = []
        self._ready = []
        return done

    def _by_priority(self, keys: Iterable[TIKey]) -> list[TIKey]:
        tasks = self.graph.tasks
        return sorted(
            keys,
            key=lambda k: (-tasks[k.task_id].priority_weight, tasks[k.task_id].order, k.map_index),
        )

    def _after_try(
        self, key: TIKey, record: TIRecord, outcome: TaskOutcome, now_s: float
    ) -> TIRecord:
        spec = self.graph.tasks[key.task_id]
        woken = key in self._woken
        self._woken.discard(key)
        if outcome.state is S.SUCCESS:
            return ended(record, outcome, S.SUCCESS, success=True)
        if outcome.state is S.DEFERRED:
            return ended(record, outcome, S.DEFERRED, rescheduled_s=record.reschedule_started_at_s)
        if outcome.state is S.UP_FOR_RESCHEDULE:
            first = record.reschedule_started_at_s or outcome.started_at_s or now_s
            due = outcome.reschedule_at_s if outcome.reschedule_at_s is not None else now_s
            due = now_s if woken else due
            return ended(record, outcome, S.UP_FOR_RESCHEDULE, due, rescheduled_s=first)
        if outcome.state is S.FAILED and is_eligible_to_retry(
            spec.retries, record.try_number, record.max_tries, outcome.retryable
        ):
            # (a retry policy's own delay replaces the task's, its backoff and cap included)
            delay = outcome.retry_delay_s
            if delay is None:
                delay = retry_delay_s(
                    retry_delay_s=spec.retry_delay_s,
                    exponential_backoff=spec.retry_exponential_backoff,
                    max_retry_delay_s=spec.max_retry_delay_s,
                    try_number=record.try_number,
                    ti_identity=f"{self.ti_identity}#{key.task_id}#{key.map_index}",
                )
            return ended(record, outcome, S.UP_FOR_RETRY, now_s + delay)
        state = outcome.state if outcome.state in (S.FAILED, S.SKIPPED) else S.FAILED
        return ended(record, outcome, state)

    def _evaluate(self, spec: TaskSpec, indexes: set[int] | None = None) -> None:
        if spec.task_id in self.graph.mapped_group_of:
            expansion.evaluate_in_group(self, spec, indexes)
            return
        keys = [k for k in self.keys_by_task[spec.task_id] if self.tis[k].state is S.NONE]
        if keys:
            self._evaluate_keys(spec, keys)

    def _evaluate_keys(self, spec: TaskSpec, keys: list[TIKey], map_index: int = -1) -> None:
        forced, cascade = self._forced_skip(spec, map_index)
        if forced is not None:
            for key in keys:
                self._set(
                    key,
                    replace(self.tis[key], state=S.SKIPPED, note=forced, cascade_skip=cascade),
                    forced,
                )
            return
        decision = self._decide(spec, map_index)
        if decision is RuleDecision.WAIT:
            return
        if decision is not RuleDecision.RUN:
            state = S.SKIPPED if decision is RuleDecision.SKIP else S.UPSTREAM_FAILED
            note = f"trigger rule {spec.trigger_rule.value}"
            for key in keys:
                self._set(key, replace(self.tis[key], state=state, note=note), note)
            return
        for key in keys:
            if key.map_index < 0 and self.graph.expansion(spec.task_id) is not None:
                expansion.expand(self, spec, key)
            else:
                self._schedule(key, self.tis[key])
                if key.map_index >= 0 and spec.mapped is None:
                    expansion.retire_unexpanded(self, spec.task_id)

    def _decide(self, spec: TaskSpec, map_index: int = -1) -> RuleDecision:
        """The trigger rule's decision (a teardown's reads its setups), under the setup
        constraint of the indirect setups (see engine.setup_teardown)."""
        if spec.trigger_rule is TriggerRule.ALL_SUCCESS and map_index < 0:
            # (the usual case, without building the counts: every upstream instance succeeded)
            c = self._up[spec.task_id]
            if c[0] == c[_TOTAL] and not self.graph.indirect_setups.get(spec.task_id):
                return RuleDecision.RUN
        counts = self.upstream_counts(spec.task_id, map_index)
        if spec.trigger_rule is TEARDOWN_RULE:
            states = self._states_of(t for t in spec.upstream if self.graph.tasks[t].is_setup)
            counts = replace(
                counts,
                setups=len(states),
                success_setup=states.count(S.SUCCESS),
                skipped_setup=states.count(S.SKIPPED),
            )
        decision = evaluate_trigger_rule(spec.trigger_rule, counts)
        indirect = self.graph.indirect_setups.get(spec.task_id)
        if indirect:
            decision = setup_constraint(self._states_of(indirect), decision)
        return decision

    def _states_of(self, task_ids: Iterable[str]) -> list[TaskInstanceState]:
        return [self.tis[k].state for t in task_ids for k in self.keys_by_task[t]]

    def _forced_skip(self, spec: TaskSpec, map_index: int = -1) -> tuple[str | None, bool]:
        """Skips that trigger rules do not decide: branches not followed and short circuits.
        In a mapped task group, by the upstream instance of the same map index and, as Airflow
        3.1 (its NotPreviouslySkippedDep), only for direct downstream tasks: no cascade."""
        group = self.graph.mapped_group_of.get(spec.task_id)
        for up in spec.upstream:
            # Airflow reads the decision of the upstream instance of the same map index
            # whatever the trigger rule (one_* rules included)
            same = map_index >= 0 and group is not None
            at = map_index if same and self.graph.mapped_group_of.get(up) == group else -1
            record = self.tis.get(TIKey(up, at))
            if record is None:
                continue
            if record.state is S.SKIPPED and record.cascade_skip:
                return f"short-circuited upstream of {up}", True
            if record.state is not S.SUCCESS:
                continue
            if record.short_circuit is not None:
                return f"short-circuited by {up}", record.short_circuit == "all" and at < 0
            if record.follow is not None and spec.task_id not in self.graph.expand_ids(
                record.follow
            ):
                return f"branch {up} did not follow this task", False
        return None, False

    def _schedule(self, key: TIKey, record: TIRecord) -> None:
        bump = 0 if record.state is S.UP_FOR_RESCHEDULE else 1
        self._set(key, moved(record, S.SCHEDULED, record.try_number + bump, None), "scheduled")
        self._ready.append(key)

    def _count(self, key: TIKey, record: TIRecord, sign: int) -> None:
        kind = _KIND[record.state]
        if kind is _FINISHED:
            self._finished += sign
        elif kind is _ACTIVE_KIND:
            self._active += sign
        slot = _SLOT.get(record.state)
        for counts in self._downstream_counts(key):
            counts[_TOTAL] += sign
            if slot is not None:
                counts[slot] += sign

    def _downstream_counts(self, key: TIKey) -> list[list[int]]:
        """The upstream counters ``key``'s state feeds: each downstream task's, or its
        counters at ``key``'s map index where the edge is per index."""
        per_index = self.graph.per_index_edges if key.map_index >= 0 else ()
        up, up_at, task_id = self._up, self._up_at, key.task_id
        return [
            up_at.setdefault((down, key.map_index), [0] * 6)
            if (task_id, down) in per_index
            else up[down]
            for down in self.graph.tasks[task_id].downstream
        ]

    def _insert(self, key: TIKey, record: TIRecord, reason: str | None = None) -> None:
        self.tis[key] = record
        self.keys_by_task[key.task_id].append(key)
        self._count(key, record, +1)
        if record.next_at_s is not None:
            heapq.heappush(self._due, (record.next_at_s, key))
        if reason is not None:
            self._changes.append(transition(key, None, record, reason))

    def _remove(self, key: TIKey, reason: str) -> None:
        record = self.tis.pop(key)
        self.keys_by_task[key.task_id].remove(key)
        self._count(key, record, -1)
        resuming = record.try_number if record.resumed else None
        self._changes.append(transition(key, record.state, None, reason, resuming))

    def _set(self, key: TIKey, record: TIRecord, reason: str) -> None:
        old = self.tis[key]
        old_state, state = old.state, record.state
        if old_state is not state:
            self._recount(key, old_state, state)
        self.tis[key] = record
        resuming = old.try_number if old.resumed else None
        self._changes.append(transition(key, old_state, record, reason, resuming))
        if record.next_at_s is not None:
            heapq.heappush(self._due, (record.next_at_s, key))
        if state in FINISHED_STATES or old_state in FINISHED_STATES:
            downstream = self.graph.tasks[key.task_id].downstream
            if downstream:
                per_index = self.graph.per_index_edges if key.map_index >= 0 else ()
                for down in downstream:
                    at = key.map_index if (key.task_id, down) in per_index else None
                    self._add_work((down,), at)
            dependents = self.graph.setup_dependents.get(key.task_id)
            if dependents:
                self._add_work(dependents)

    def _recount(self, key: TIKey, old: TaskInstanceState, new: TaskInstanceState) -> None:
        """``_count`` of the old state (-1) and the new one (+1) in one pass: the downstream
        totals do not move, only the two states' slots (an instance's per-index counters
        exist since its ``_insert``)."""
        old_kind, new_kind = _KIND[old], _KIND[new]
        if old_kind is not new_kind:
            if old_kind is _FINISHED:
                self._finished -= 1
            elif old_kind is _ACTIVE_KIND:
                self._active -= 1
            if new_kind is _FINISHED:
                self._finished += 1
            elif new_kind is _ACTIVE_KIND:
                self._active += 1
        old_slot, new_slot = _SLOT.get(old), _SLOT.get(new)
        if old_slot == new_slot:
            return
        for counts in self._downstream_counts(key):
            if old_slot is not None:
                counts[old_slot] -= 1
            if new_slot is not None:
                counts[new_slot] += 1

    def _set_active(self, key: TIKey, record: TIRecord) -> None:
        """``_set`` of a move from one active state to another (scheduled or queued to queued or
        running) that no step reports: no counter moves (both states count as active, in no
        finished slot), nothing to evaluate, no transition built (the pending ones are dropped,
        as before, for none is pending outside a step)."""
        self.tis[key] = record
        if record.next_at_s is not None:
            heapq.heappush(self._due, (record.next_at_s, key))
        self._changes.clear()

    def _add_work(self, task_ids: Iterable[str], map_index: int | None = None) -> None:
        """Evaluate ``task_ids`` (only their instance ``map_index`` when given) in this step."""
        for task_id in task_ids:
            if task_id not in self._in_work:
                self._in_work.add(task_id)
                self._work.append(task_id)
                if map_index is None:
                    self._dirty.pop(task_id, None)
                else:
                    self._dirty[task_id] = {map_index}
            elif map_index is None:
                self._dirty.pop(task_id, None)
            elif task_id in self._dirty:
                self._dirty[task_id].add(map_index)
