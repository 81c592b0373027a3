"""Expanding a run's mapped tasks and the tasks of mapped task groups (pure, no I/O).

Part of the run state machine (engine.state_machine), kept apart: a mapped task's unexpanded
instance becomes one instance per map index once its inputs are known; a mapped task group's
tasks expand into the group's map indexes, and each of their instances is evaluated on the
upstream instances of its own map index (graph.per_index_edges), as Airflow 3.1 does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from airlane.engine.graph import TaskSpec
from airlane.engine.mapping import mapped_length
from airlane.engine.run_state import TIKey, TIRecord
from airlane.engine.trigger_rules import RuleDecision, settle_and_met
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.trigger_rule import TriggerRule

if TYPE_CHECKING:
    from airlane.engine.state_machine import RunMachine

S = TaskInstanceState


def evaluate_in_group(m: RunMachine, spec: TaskSpec, indexes: set[int] | None) -> None:
    """A task of a mapped task group: each instance in state none (only those of ``indexes``
    when given) by its own upstream instances."""
    if indexes is None:
        keys = list(m.keys_by_task[spec.task_id])
    else:
        keys = [TIKey(spec.task_id, i) for i in sorted(indexes)]
    for key in keys:
        record = m.tis.get(key)
        if record is None or record.state is not S.NONE:
            continue
        if key.map_index < 0 and spec.upstream and spec.trigger_rule is not TriggerRule.ALWAYS:
            _evaluate_unexpanded(m, spec, key)
        else:
            m._evaluate_keys(spec, [key], key.map_index)


def _evaluate_unexpanded(m: RunMachine, spec: TaskSpec, key: TIKey) -> None:
    """The unexpanded instance of a mapped group's task, as Airflow: the rule may settle its
    state and still be met (none_failed_min_one_success once its upstream tasks of the group
    are expanded, which it no longer counts): then the task expands all the same and the
    settled instance is removed when one of its instances is scheduled (Airflow 3.1.8,
    tests/dags/mapped_groups/join_quirk)."""
    forced, cascade = m._forced_skip(spec)
    if forced is not None:
        record = replace(m.tis[key], state=S.SKIPPED, note=forced, cascade_skip=cascade)
        m._set(key, record, forced)
        return
    verdict, met = settle_and_met(spec.trigger_rule, m.upstream_counts(spec.task_id))
    if verdict is not None and verdict is not RuleDecision.WAIT:
        state = S.SKIPPED if verdict is RuleDecision.SKIP else S.UPSTREAM_FAILED
        note = f"trigger rule {spec.trigger_rule.value}"
        m._set(key, replace(m.tis[key], state=state, note=note), note)
    if met:
        expand(m, spec, key, keep=verdict is not None)


def retire_unexpanded(m: RunMachine, task_id: str) -> None:
    """Airflow's revision of map indexes: an unexpanded instance left beside expanded ones
    (see _evaluate_unexpanded) becomes removed."""
    key = TIKey(task_id)
    record = m.tis.get(key)
    if record is not None and record.state is not S.REMOVED:
        note = "map index -1 of an expanded task"
        m._set(key, replace(record, state=S.REMOVED, note=note), note)


def expand(m: RunMachine, spec: TaskSpec, key: TIKey, *, keep: bool = False) -> None:
    """Replace the unexpanded instance ``key`` by one instance per map index (``keep``: the
    instance already has its final state; only add the others, as Airflow does)."""
    mapped = m.graph.expansion(spec.task_id)
    assert mapped is not None
    count, problem = mapped_length(mapped, m.graph, m.tis, m.keys_by_task)
    record = m.tis[key]
    if keep:
        if problem is None:
            _add_instances(m, spec, record, count)
        return
    if problem is not None:
        m._set(key, replace(record, state=S.FAILED, note=problem), problem)
        return
    if count == 0:
        note = "mapped over an empty input"
        m._set(key, replace(record, state=S.SKIPPED, note=note), note)
        return
    m._remove(key, "expanded")
    _add_instances(m, spec, record, count)


def _add_instances(m: RunMachine, spec: TaskSpec, record: TIRecord, count: int) -> None:
    """A mapped task's instances are scheduled at once; a mapped group's wait on their own
    upstream instances (and the group's downstream tasks no longer wait on the unexpanded one)."""
    in_group = spec.mapped is None
    for index in range(count):
        child = TIKey(spec.task_id, index)
        fresh = TIRecord(try_number=record.try_number, max_tries=record.max_tries)
        # a group's instance waits in state none: a transition of its own makes it persisted
        m._insert(child, fresh, reason="expanded" if in_group else None)
        if not in_group:
            m._schedule(child, m.tis[child])
    if in_group:
        m._add_work((spec.task_id,))
        m._add_work(spec.downstream)
