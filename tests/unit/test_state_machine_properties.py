"""Property tests of the run state machine over random DAGs, rules and outcomes.

- every run terminates (no instance left unfinished, a final run state);
- no task starts before its trigger rule allows it, judged by recounting upstream states;
- the incremental upstream counters always equal a recount;
- clearing a task and its downstream reruns exactly those, and nothing else changes.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.engine.trigger_rules import RuleDecision, UpstreamCounts, evaluate_trigger_rule
from airlane.sdk.state import FINISHED_STATES, DagRunState, TaskInstanceState
from airlane.sdk.trigger_rule import CANONICAL_RULES
from tests.unit.graphs import graph

S = TaskInstanceState
RULES = [r.value for r in CANONICAL_RULES]


@st.composite
def random_dags(draw: Any) -> tuple[Any, int]:
    n = draw(st.integers(min_value=1, max_value=10))
    names = [f"t{i}" for i in range(n)]
    edges: dict[str, list[str]] = {name: [] for name in names}
    for j in range(n):
        for i in range(j):
            if draw(st.booleans()) and draw(st.booleans()):
                edges[names[i]].append(names[j])
    per_task = {
        name: {
            "trigger_rule": draw(st.sampled_from(RULES)),
            "retries": draw(st.integers(0, 2)),
            "retry_delay_s": draw(st.sampled_from([0.0, 5.0])),
        }
        for name in names
    }
    seed = draw(st.integers(0, 2**32 - 1))
    return graph(edges, **per_task), seed


def recount(m: RunMachine, task_id: str) -> UpstreamCounts:
    states = [m.tis[k].state for up in m.graph.tasks[task_id].upstream for k in m.keys_by_task[up]]
    return UpstreamCounts(
        total=len(states),
        success=states.count(S.SUCCESS),
        skipped=states.count(S.SKIPPED),
        failed=states.count(S.FAILED),
        upstream_failed=states.count(S.UPSTREAM_FAILED),
        removed=states.count(S.REMOVED),
    )


def simulate(m: RunMachine, rng: random.Random, now: float, ready: list[TIKey]) -> float:
    """Run to the end, choosing outcomes at random; checks the invariants at every start."""
    pending = list(ready)
    for _ in range(10_000):
        for task_id in m.graph.tasks:
            assert m.upstream_counts(task_id) == recount(m, task_id)
        if not pending:
            due = m.next_due_s()
            if due is None:
                break
            now = max(now, due)
            pending.extend(m.tick(now).ready)
            continue
        key = pending.pop(rng.randrange(len(pending)))
        spec = m.graph.tasks[key.task_id]
        assert evaluate_trigger_rule(spec.trigger_rule, recount(m, key.task_id)) is RuleDecision.RUN
        record = m.tis[key]
        assert m.task_started(key, record.try_number)
        state = rng.choice([S.SUCCESS, S.SUCCESS, S.FAILED, S.SKIPPED])
        outcome = TaskOutcome(state, record.try_number, retryable=rng.random() < 0.8)
        now += 1
        pending.extend(m.task_finished(key, outcome, now).ready)
    else:
        raise AssertionError("run did not terminate")
    return now


@settings(max_examples=300, deadline=None)
@given(random_dags())
def test_every_run_terminates_and_respects_trigger_rules(case: tuple[Any, int]) -> None:
    g, seed = case
    rng = random.Random(seed)
    m = RunMachine(g)
    simulate(m, rng, 0.0, list(m.start(0.0).ready))
    assert all(r.state in FINISHED_STATES for r in m.tis.values()), m.tis
    final = m.run_state()
    leaves_failed = any(m.tis[TIKey(t)].state in (S.FAILED, S.UPSTREAM_FAILED) for t in g.leaves)
    assert final is (DagRunState.FAILED if leaves_failed else DagRunState.SUCCESS)


@settings(max_examples=200, deadline=None)
@given(random_dags(), st.data())
def test_clear_reruns_the_cleared_tasks_and_nothing_else(case: tuple[Any, int], data: Any) -> None:
    g, seed = case
    rng = random.Random(seed)
    m = RunMachine(g)
    now = simulate(m, rng, 0.0, list(m.start(0.0).ready))
    target = data.draw(st.sampled_from(sorted(g.tasks)))
    cleared = {target} | g.descendants(target)
    before = dict(m.tis)
    step = m.clear(sorted(cleared), now + 1)
    assert {t.key.task_id for t in step.transitions} <= cleared
    started: set[str] = set()
    pending = list(step.ready)
    started.update(k.task_id for k in pending)
    simulate(m, rng, now + 1, pending)
    for key, record in m.tis.items():
        if key.task_id not in cleared:
            assert record == before[key]
    assert all(r.state in FINISHED_STATES for r in m.tis.values())
    assert m.run_state() is not DagRunState.RUNNING
    assert started <= cleared
