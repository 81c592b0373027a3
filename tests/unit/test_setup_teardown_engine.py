"""Setup and teardown in the engine: the teardown's trigger rule, the run's state from its
effective leaves, the indirect-setup constraint, fail_fast and what a clear takes along.

The expected values follow Airflow 3.1.8: ``TriggerRuleDep`` (all_done_setup_success and the
setup constraint), ``DagRun._tis_for_dagrun_state``, ``_stop_remaining_tasks`` and
``partial_subset``.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from airlane.engine.graph import clear_subset
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.setup_teardown import effective_leaves, subset_ids
from airlane.engine.state_machine import RunMachine
from airlane.engine.trigger_rules import RuleDecision, UpstreamCounts, evaluate_trigger_rule
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.sdk.trigger_rule import TriggerRule, normalize_trigger_rule
from tests.unit.graphs import graph

S = TaskInstanceState
R = RuleDecision
T0 = 1_000_000.0
RULE = TriggerRule.ALL_DONE_SETUP_SUCCESS
SETUP = {"is_setup": True}
TEARDOWN = {"is_teardown": True, "trigger_rule": "all_done_setup_success"}
DONE = ("success", "skipped", "failed", "upstream_failed")


def counts(setups: tuple[str, ...], others: tuple[str, ...], pending: int = 0) -> UpstreamCounts:
    every = setups + others
    return UpstreamCounts(
        total=len(every) + pending,
        success=every.count("success"),
        skipped=every.count("skipped"),
        failed=every.count("failed"),
        upstream_failed=every.count("upstream_failed"),
        setups=len(setups),
        success_setup=setups.count("success"),
        skipped_setup=setups.count("skipped"),
    )


def oracle(setups: tuple[str, ...], pending: int) -> RuleDecision:
    """Airflow's all_done_setup_success, written from trigger_rule_dep.py."""
    if pending:
        return R.WAIT
    if setups and setups.count("skipped") >= len(setups):
        return R.SKIP
    if setups and setups.count("success") == 0:
        return R.UPSTREAM_FAILED
    return R.RUN


def test_the_teardown_rule_against_every_combination_of_setups_and_others() -> None:
    for n_setups, n_others, pending in itertools.product(range(3), range(3), range(2)):
        if n_setups + n_others + pending == 0:
            continue
        for setups in itertools.combinations_with_replacement(DONE, n_setups):
            for others in itertools.combinations_with_replacement(DONE, n_others):
                got = evaluate_trigger_rule(RULE, counts(setups, others, pending))
                assert got == oracle(setups, pending), (setups, others, pending)


@pytest.mark.parametrize(
    ("setups", "others", "expected"),
    [
        (("success",), ("failed",), R.RUN),  # the work failed: the teardown still runs
        (("failed", "success"), (), R.RUN),  # one setup ran
        (("failed",), ("upstream_failed",), R.UPSTREAM_FAILED),
        (("skipped",), ("skipped",), R.SKIP),
        (("skipped", "failed"), (), R.UPSTREAM_FAILED),
        ((), ("failed", "skipped"), R.RUN),  # no setup: like all_done
    ],
)
def test_pinned_teardown_rows(
    setups: tuple[str, ...], others: tuple[str, ...], expected: RuleDecision
) -> None:
    assert evaluate_trigger_rule(RULE, counts(setups, others)) is expected


def test_the_rule_is_known_by_name() -> None:
    assert normalize_trigger_rule("all_done_setup_success") is RULE


def finish(m: RunMachine, task_id: str, state: TaskInstanceState = S.SUCCESS) -> list[str]:
    key = TIKey(task_id)
    try_number = m.tis[key].try_number
    assert m.task_started(key, try_number)
    outcome = TaskOutcome(state, try_number, retryable=False)
    return [k.task_id for k in m.task_finished(key, outcome, T0).ready]


def states(m: RunMachine) -> dict[str, str]:
    return {k.label(): r.state.value for k, r in sorted(m.tis.items())}


def setup_work_teardown(**teardown: Any) -> RunMachine:
    """s >> w >> t, s >> t"""
    edges = {"s": ["w", "t"], "w": ["t"], "t": []}
    return RunMachine(graph(edges, s=SETUP, t={**TEARDOWN, **teardown}))


def test_work_fails_the_teardown_runs_and_the_run_fails() -> None:
    m = setup_work_teardown()
    m.start(T0)
    assert finish(m, "s") == ["w"]
    assert finish(m, "w", S.FAILED) == ["t"]
    finish(m, "t")
    assert m.run_state() is DagRunState.FAILED


def test_a_failed_teardown_does_not_fail_the_run() -> None:
    m = setup_work_teardown()
    m.start(T0)
    finish(m, "s")
    finish(m, "w")
    finish(m, "t", S.FAILED)
    assert m.run_state() is DagRunState.SUCCESS


def test_a_failed_teardown_fails_the_run_with_on_failure_fail_dagrun() -> None:
    m = setup_work_teardown(on_failure_fail_dagrun=True)
    m.start(T0)
    finish(m, "s")
    finish(m, "w")
    finish(m, "t", S.FAILED)
    assert m.run_state() is DagRunState.FAILED


def test_a_failed_setup_makes_its_teardown_upstream_failed() -> None:
    m = setup_work_teardown()
    m.start(T0)
    finish(m, "s", S.FAILED)
    assert states(m) == {"s": "failed", "t": "upstream_failed", "w": "upstream_failed"}
    assert m.run_state() is DagRunState.FAILED


def test_effective_leaves_skip_teardowns_and_what_only_feeds_them() -> None:
    edges = {"s": ["w", "t"], "w": ["t"], "t": [], "x": []}
    g = graph(edges, s=SETUP, t=TEARDOWN)
    assert effective_leaves(g) == {"w", "x"}
    g = graph(edges, s=SETUP, t={**TEARDOWN, "on_failure_fail_dagrun": True})
    assert effective_leaves(g) == {"t", "x"}
    only_teardowns = graph({"t1": ["t2"], "t2": []}, t1=TEARDOWN, t2=TEARDOWN)
    assert effective_leaves(only_teardowns) == {"t2"}


def indirect_machine(*, later_rule: str = "all_success") -> RunMachine:
    """s >> w1 >> w2 >> t, s >> t: w2 waits for s without being its direct downstream."""
    edges = {"s": ["w1", "t"], "w1": ["w2"], "w2": ["t"], "t": []}
    return RunMachine(graph(edges, s=SETUP, t=TEARDOWN, w2={"trigger_rule": later_rule}))


def test_a_failed_indirect_setup_makes_an_all_done_task_upstream_failed() -> None:
    m = indirect_machine(later_rule="all_done")
    m.start(T0)
    finish(m, "s", S.FAILED)
    assert states(m)["w2"] == "upstream_failed"


def test_clearing_work_reruns_its_setup_first_and_its_teardown_after() -> None:
    m = indirect_machine()
    m.start(T0)
    for task_id in ("s", "w1", "w2", "t"):
        finish(m, task_id)
    to_clear = subset_ids(m.graph, {"w2"}, upstream=False, downstream=False)
    assert to_clear == {"s", "w2", "t"}
    ready = [k.task_id for k in m.clear(to_clear, T0).ready]
    assert ready == ["s"]  # w2's direct upstream (w1) succeeded, yet it waits for s
    assert finish(m, "s") == ["w2"]
    assert finish(m, "w2") == ["t"]
    finish(m, "t")
    assert m.run_state() is DagRunState.SUCCESS


def test_fail_fast_leaves_the_teardown_to_its_rule() -> None:
    edges = {"s": ["w", "v", "t"], "w": ["t"], "v": ["t"], "t": []}
    g = graph(edges, s=SETUP, t=TEARDOWN)
    g.fail_fast = True
    m = RunMachine(g)
    m.start(T0)
    assert sorted(finish(m, "s")) == ["v", "w"]
    assert finish(m, "w", S.FAILED) == ["t"]  # v skipped by fail_fast, t runs
    assert states(m) == {"s": "success", "t": "scheduled", "v": "skipped", "w": "failed"}
    finish(m, "t")
    assert m.run_state() is DagRunState.FAILED


CLEAR_EDGES = {
    "s": ["w1", "t"],
    "w1": ["w2"],
    "w2": ["t", "after"],
    "t": [],
    "after": [],
    "other_s": ["other", "other_t"],
    "other": ["other_t"],
    "other_t": [],
}


def clear_dag() -> dict[str, Any]:
    g = graph(CLEAR_EDGES, s=SETUP, other_s=SETUP, t=TEARDOWN, other_t=TEARDOWN)
    return {
        "dag_id": "test",
        "tasks": [
            {
                "task_id": spec.task_id,
                "upstream": list(spec.upstream),
                "downstream": list(spec.downstream),
                "is_setup": spec.is_setup,
                "is_teardown": spec.is_teardown,
                "trigger_rule": spec.trigger_rule.value,
            }
            for spec in g.tasks.values()
        ],
    }


@pytest.mark.parametrize(
    ("task_ids", "upstream", "downstream", "expected"),
    [
        ({"w1"}, False, False, {"s", "w1", "t"}),
        ({"w1"}, False, True, {"s", "w1", "w2", "t", "after"}),
        ({"w2"}, True, False, {"s", "w1", "w2", "t"}),
        ({"after"}, False, False, {"after"}),  # s's teardown is not downstream of it
        ({"s"}, False, False, {"s", "t"}),  # a setup takes its teardown
        ({"t"}, False, False, {"t"}),
        ({"other"}, False, True, {"other_s", "other", "other_t"}),
    ],
)
def test_what_a_clear_takes_along(
    task_ids: set[str], upstream: bool, downstream: bool, expected: set[str]
) -> None:
    assert clear_subset(clear_dag(), task_ids, upstream=upstream, downstream=downstream) == (
        expected
    )
