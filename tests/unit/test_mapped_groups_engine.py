"""The run state machine with mapped task groups (no Redis, no DAG files).

As Airflow 3.1.8: a group's tasks expand into the group's map indexes; inside the group the
instance of map index i waits on its upstream's instance i only (not for the one_* rules);
tasks downstream of the group wait on every index; a zero-length input skips the group's
tasks; branches act per index.
"""

from __future__ import annotations

from typing import Any

from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.sdk.state import DagRunState, TaskInstanceState

S = TaskInstanceState
T0 = 1000.0


def group_graph(
    edges: dict[str, list[str]],
    members: set[str],
    *,
    xcom: str | None = "src",
    length: int | None = None,
    rules: dict[str, str] | None = None,
) -> DagGraph:
    """``edges``: task -> downstream; ``members`` are in mapped group ``g`` (ids unprefixed)."""
    upstream: dict[str, list[str]] = {t: [] for t in edges}
    for task, downs in edges.items():
        for down in downs:
            upstream[down].append(task)
    tasks = [
        {
            "task_id": t,
            "upstream": sorted(upstream[t]),
            "downstream": sorted(edges[t]),
            "trigger_rule": (rules or {}).get(t, "all_success"),
            "task_group": "g" if t in members else None,
        }
        for t in edges
    ]
    item: dict[str, Any] = {"name": "x", "length": length, "xcom": None}
    if xcom is not None:
        item["xcom"] = {"task_id": xcom, "key": "return_value"}
    groups = [{"group_id": "g", "parent": None, "mapped": {"kind": "product", "inputs": [item]}}]
    return DagGraph.from_serialized({"dag_id": "t", "tasks": tasks, "task_groups": groups})


def run(m: RunMachine, key: TIKey, outcome: TaskOutcome) -> list[str]:
    m.task_started(key, outcome.try_number)
    return [k.label() for k in m.task_finished(key, outcome, T0).ready]


def ok(length: int | None = None, **kw: Any) -> TaskOutcome:
    lengths = (("return_value", length),) if length is not None else ()
    return TaskOutcome(S.SUCCESS, 1, xcom_lengths=lengths, **kw)


def states(m: RunMachine) -> dict[str, str]:
    return {k.label(): r.state.value for k, r in sorted(m.tis.items())}


def test_each_index_waits_on_its_own_upstream_instance_and_after_waits_on_all() -> None:
    g = group_graph({"src": ["a"], "a": ["b"], "b": ["after"], "after": []}, {"a", "b"})
    m = RunMachine(g)
    assert [k.label() for k in m.start(T0).ready] == ["src"]
    assert run(m, TIKey("src"), ok(3)) == ["a[0]", "a[1]", "a[2]"]
    # b expands as soon as a has (its unexpanded instance then counts no upstream instance)
    assert [states(m)[f"b[{i}]"] for i in range(3)] == ["none"] * 3
    assert run(m, TIKey("a", 1), ok()) == ["b[1]"]  # b[1] does not wait for a[0] or a[2]
    assert run(m, TIKey("b", 1), ok()) == []
    assert run(m, TIKey("a", 0), ok()) == ["b[0]"]
    run(m, TIKey("b", 0), ok())
    run(m, TIKey("a", 2), ok())
    assert run(m, TIKey("b", 2), ok()) == ["after"]  # after waits on every index of b
    run(m, TIKey("after"), ok())
    assert m.run_state() is DagRunState.SUCCESS


def test_a_failure_fails_only_its_own_index_downstream() -> None:
    g = group_graph(
        {"src": ["a"], "a": ["b", "c"], "b": [], "c": []},
        {"a", "b", "c"},
        rules={"c": "all_done"},
    )
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    run(m, TIKey("a", 0), TaskOutcome(S.FAILED, 1, retryable=False))
    run(m, TIKey("a", 1), ok())
    assert states(m)["b[0]"] == "upstream_failed"
    assert states(m)["b[1]"] == "scheduled"
    assert states(m)["c[0]"] == "scheduled"  # all_done per index


def test_one_success_inside_the_group_reads_every_index_of_its_upstream() -> None:
    g = group_graph({"src": ["a"], "a": ["b"], "b": []}, {"a", "b"}, rules={"b": "one_success"})
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    ready = run(m, TIKey("a", 0), ok())
    assert ready == ["b[0]", "b[1]"]  # as Airflow: one_* rules are not per index


def test_zero_length_input_skips_every_task_of_the_group_and_what_follows() -> None:
    g = group_graph({"src": ["a"], "a": ["b"], "b": ["after"], "after": []}, {"a", "b"})
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(0))
    assert states(m) == {"a": "skipped", "after": "skipped", "b": "skipped", "src": "success"}
    assert m.tis[TIKey("a")].note == "mapped over an empty input"


def test_literal_input_expands_the_roots_at_once() -> None:
    g = group_graph({"a": ["b"], "b": []}, {"a", "b"}, xcom=None, length=2)
    m = RunMachine(g)
    assert [k.label() for k in m.start(T0).ready] == ["a[0]", "a[1]"]


def test_branch_inside_the_group_skips_per_index() -> None:
    g = group_graph(
        {"src": ["pick"], "pick": ["left", "right"], "left": [], "right": []},
        {"pick", "left", "right"},
    )
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    assert run(m, TIKey("pick", 0), ok(follow=("left",))) == ["left[0]"]
    assert run(m, TIKey("pick", 1), ok(follow=("right",))) == ["right[1]"]
    assert states(m)["right[0]"] == "skipped"
    assert states(m)["left[1]"] == "skipped"


def test_unexpanded_instance_settled_and_met_still_expands_as_airflow() -> None:
    """Airflow 3.1.8 (tests/dags/mapped_groups/join_quirk): none_failed_min_one_success counts
    no upstream instance for its unexpanded instance once its group upstream is expanded: it is
    skipped (so is an all_success task after it) and expands all the same, ending removed;
    all_done_min_one_success is upstream_failed and never expands."""
    g = group_graph(
        {"src": ["a"], "a": ["join", "min_one"], "join": ["total"], "min_one": [], "total": []},
        {"a", "join", "min_one"},
        rules={"join": "none_failed_min_one_success", "min_one": "all_done_min_one_success"},
    )
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    assert states(m)["join"] == "skipped"
    assert states(m)["total"] == "skipped"
    assert states(m)["min_one"] == "upstream_failed"
    assert run(m, TIKey("a", 0), ok()) == ["join[0]"]
    assert states(m)["join"] == "removed"
    assert run(m, TIKey("a", 1), ok()) == ["join[1]"]
    run(m, TIKey("join", 0), ok())
    run(m, TIKey("join", 1), ok())
    assert m.run_state() is DagRunState.FAILED


def test_clearing_a_group_task_collapses_its_instances() -> None:
    g = group_graph({"src": ["a"], "a": []}, {"a"})
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    run(m, TIKey("a", 0), ok())
    run(m, TIKey("a", 1), ok())
    step = m.clear(["a"], T0 + 1)
    assert [k.label() for k in step.ready] == ["a[0]", "a[1]"]
    assert sorted(k.label() for k in m.keys_by_task["a"]) == ["a[0]", "a[1]"]


def test_rebuilding_from_records_keeps_per_index_waiting() -> None:
    g = group_graph({"src": ["a"], "a": ["b"], "b": []}, {"a", "b"})
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    run(m, TIKey("a", 1), ok())
    again = RunMachine(g, dict(m.tis))
    again.start(T0)
    assert states(again)["b[0]"] == "none"
    assert states(again)["b[1]"] == "scheduled"


def test_waiting_instances_are_reported_so_that_they_are_stored() -> None:
    g = group_graph({"src": ["a"], "a": ["b"], "b": []}, {"a", "b"})
    m = RunMachine(g)
    m.start(T0)
    m.task_started(TIKey("src"), 1)
    step = m.task_finished(TIKey("src"), ok(2), T0)
    added = {t.key.label() for t in step.transitions if t.old is None and t.record is not None}
    assert {"b[0]", "b[1]"} <= added  # in state none: only this transition stores them


def test_short_circuit_inside_the_group_skips_only_direct_downstream_of_its_index() -> None:
    g = group_graph(
        {"src": ["gate"], "gate": ["direct"], "direct": ["later"], "later": []},
        {"gate", "direct", "later"},
        rules={"later": "all_done"},
    )
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    run(m, TIKey("gate", 0), ok(short_circuit="all"))
    assert states(m)["direct[0]"] == "skipped"
    assert states(m)["later[0]"] == "scheduled"  # as Airflow 3.1.8: no cascade in a group
    assert states(m)["direct[1]"] == "none"


def test_branch_decision_of_the_same_index_applies_to_one_success_tasks_too() -> None:
    g = group_graph(
        {"src": ["pick"], "pick": ["left", "right"], "left": [], "right": []},
        {"pick", "left", "right"},
        rules={"left": "one_success", "right": "one_success"},
    )
    m = RunMachine(g)
    m.start(T0)
    run(m, TIKey("src"), ok(2))
    ready = run(m, TIKey("pick", 0), ok(follow=("left",)))
    assert "right[0]" not in ready
    assert states(m)["right[0]"] == "skipped"
    # one_success reads every index of pick: index 1 runs before pick[1] decided (as Airflow)
    assert {"left[0]", "left[1]", "right[1]"} <= set(ready)
