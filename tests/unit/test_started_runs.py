"""A new run's start is computed once per DAG version and copied (issue 19's expansion): the
copy must be the state and step that computing it gives, and be a run of its own."""

from __future__ import annotations

from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.sdk.state import TaskInstanceState as S
from tests.unit.graphs import graph
from tests.unit.test_mapped_groups_engine import group_graph


def _state(m: RunMachine) -> tuple[object, ...]:
    return (m.tis, m.keys_by_task, m._up, m._up_at, m._finished, m._active, m._due)


def _graphs() -> list[DagGraph]:
    return [
        graph({f"t{i}": [] for i in range(50)}),
        graph({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, d={"trigger_rule": "one_done"}),
        graph({"a": ["b"], "b": []}, a={"trigger_rule": "all_failed"}),
        graph({"a": ["b"], "b": []}, a={"priority_weight": 1}, b={"priority_weight": 5}),
        group_graph({"a": ["b"], "b": []}, {"a", "b"}, xcom=None, length=3),
        group_graph({"src": ["a"], "a": ["b"], "b": []}, {"a", "b"}),
    ]


def test_a_new_run_starts_as_the_computed_start_of_its_version() -> None:
    for g in _graphs():
        computed = RunMachine(g, dict(RunMachine(g).tis))
        expected = computed.start(5.0)
        first, second = RunMachine(g), RunMachine(g)
        assert first.start(5.0) == expected
        assert second.start(9.0) == expected  # the copy
        assert _state(first) == _state(second) == _state(computed)


def test_copied_runs_move_apart() -> None:
    g = graph({"a": ["b"], "b": []})
    first, second = RunMachine(g), RunMachine(g)
    first.start(1.0)
    second.start(1.0)
    a = TIKey("a")
    first.task_queued(a)
    first.task_started(a, 1)
    assert first.task_finished(a, TaskOutcome(S.SUCCESS, 1), 2.0).ready == (TIKey("b"),)
    assert (second.tis[a].state, second.tis[TIKey("b")].state) == (S.SCHEDULED, S.NONE)
    third = RunMachine(g)
    assert third.start(3.0).ready == (a,)
    assert third.tis[TIKey("b")].state is S.NONE
    assert third._up["b"] == [0, 0, 0, 0, 0, 1]


def test_a_run_changed_before_its_start_is_not_given_the_copy() -> None:
    g = graph({"a": ["b"], "b": []})
    RunMachine(g).start(1.0)  # the version's start is known
    m = RunMachine(g)
    m.reserve_try(TIKey("a"), 3)
    m.start(1.0)
    assert m.tis[TIKey("a")].try_number == 4


def test_a_version_prepared_gives_its_first_run_the_copy() -> None:
    from airlane.engine import state_machine

    g = graph({"a": ["b"], "b": []})
    state_machine.prepare_new_runs(g)
    assert g in state_machine._STARTED_RUNS
    cached = state_machine._STARTED_RUNS[g][1]
    assert RunMachine(g).start(7.0) is cached
