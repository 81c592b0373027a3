"""Setup and teardown tasks in the compiled graph (pure), as Airflow reads them.

- A run's state comes from its *effective leaves* (Airflow's ``_tis_for_dagrun_state``): a
  teardown is ignored, and so is a task whose only downstream tasks are ignored teardowns,
  unless the teardown has ``on_failure_fail_dagrun``.
- A task that is not a teardown waits for its *relevant indirect setups* (setups upstream of
  it, not directly, whose teardowns are downstream of it or that have none) to succeed, and
  is upstream_failed / skipped when one of them is (Airflow's setup constraint of
  ``TriggerRuleDep``). This matters when a cleared task's setups run again.
- Clearing: :func:`subset_ids` is the task set of Airflow's ``partial_subset``, which adds
  the relevant setups and their teardowns to the tasks asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from airlane.engine.trigger_rules import RuleDecision
from airlane.sdk.state import TaskInstanceState

if TYPE_CHECKING:
    from airlane.engine.graph import DagGraph, TaskSpec

S = TaskInstanceState


def effective_leaves(graph: DagGraph) -> frozenset[str]:
    """The tasks whose failure fails the run (teardowns ignored unless they say otherwise)."""
    tasks = graph.tasks

    def ignorable(spec: TaskSpec) -> bool:
        return spec.is_teardown and not spec.on_failure_fail_dagrun

    found = frozenset(
        task_id
        for task_id, spec in tasks.items()
        if not ignorable(spec) and all(ignorable(tasks[d]) for d in spec.downstream)
    )
    # a DAG made of teardowns only: its plain leaves
    return found or graph.leaves


def _teardowns_of(graph: DagGraph, task_id: str) -> set[str]:
    return {d for d in graph.tasks[task_id].downstream if graph.tasks[d].is_teardown}


def setups_and_teardowns(graph: DagGraph, task_id: str) -> set[str]:
    """Airflow's ``get_upstreams_only_setups_and_teardowns``: the upstream setups whose
    teardowns are downstream of ``task_id`` (or that have none), with their teardowns."""
    downstream_teardowns = {d for d in graph.descendants(task_id) if graph.tasks[d].is_teardown}
    found: set[str] = set()
    for up in graph.ancestors(task_id):
        if not graph.tasks[up].is_setup:
            continue
        teardowns = _teardowns_of(graph, up)
        if not teardowns or teardowns & downstream_teardowns:
            found.add(up)
            found.update(teardowns - {task_id})
    return found


def indirect_setups(graph: DagGraph) -> dict[str, tuple[str, ...]]:
    """For each task that is not a teardown: its relevant setups that are not direct upstream."""
    if not any(spec.is_setup for spec in graph.tasks.values()):
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for task_id, spec in graph.tasks.items():
        if spec.is_teardown:
            continue
        setups = sorted(
            s
            for s in setups_and_teardowns(graph, task_id)
            if graph.tasks[s].is_setup and s not in spec.upstream
        )
        if setups:
            result[task_id] = tuple(setups)
    return result


def dependents(indirect: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """For each setup, the tasks that wait for it indirectly (to evaluate when it changes)."""
    found: dict[str, list[str]] = {}
    for task_id, setups in indirect.items():
        for setup in setups:
            found.setdefault(setup, []).append(task_id)
    return {k: tuple(v) for k, v in found.items()}


def setup_constraint(states: Sequence[TaskInstanceState], decision: RuleDecision) -> RuleDecision:
    """``decision`` of the direct trigger rule, under the indirect setups' ``states``."""
    if any(state in (S.FAILED, S.UPSTREAM_FAILED) for state in states):
        return RuleDecision.UPSTREAM_FAILED
    if S.SKIPPED in states:
        return RuleDecision.SKIP
    if all(state is S.SUCCESS for state in states):
        return decision
    # not every setup succeeded yet: wait, unless the direct rule settles the task already
    return (
        decision
        if decision in (RuleDecision.SKIP, RuleDecision.UPSTREAM_FAILED)
        else (RuleDecision.WAIT)
    )


def subset_ids(
    graph: DagGraph, task_ids: Iterable[str], *, upstream: bool, downstream: bool
) -> set[str]:
    """The tasks of Airflow's ``partial_subset(task_ids, include_downstream=downstream,
    include_upstream=upstream)``: the tasks asked for, their relatives asked for, and the
    setups and teardowns that go with them."""
    matched = set(task_ids)
    found = set(matched)
    for task_id in matched:
        spec = graph.tasks[task_id]
        if downstream:
            for rel in graph.descendants(task_id):
                found.add(rel)
                rel_spec = graph.tasks[rel]
                if rel not in matched and not rel_spec.is_setup and not rel_spec.is_teardown:
                    found.update(setups_and_teardowns(graph, rel))
        if upstream:
            for up in graph.ancestors(task_id):
                found.add(up)
                if graph.tasks[up].is_setup:
                    found.update(_teardowns_of(graph, up) - {task_id})
        elif not spec.is_setup and not spec.is_teardown:
            found.update(setups_and_teardowns(graph, task_id))
        if spec.is_setup and not downstream:
            found.update(_teardowns_of(graph, task_id))
    return found
