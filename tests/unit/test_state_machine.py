"""The run state machine: scheduling, skips, retries, mapping, clearing, fencing."""

from __future__ import annotations

import pytest

from airlane.engine.run_state import TaskOutcome, TIKey, TIRecord
from airlane.engine.state_machine import RunMachine
from airlane.sdk.state import DagRunState, TaskInstanceState
from tests.unit.graphs import graph

S = TaskInstanceState
T0 = 1_000_000.0


def ok(try_number: int = 1, **kw: object) -> TaskOutcome:
    return TaskOutcome(S.SUCCESS, try_number, **kw)  # type: ignore[arg-type]


def fail(try_number: int = 1, retryable: bool = True) -> TaskOutcome:
    return TaskOutcome(S.FAILED, try_number, retryable=retryable, error="boom")


def finish(m: RunMachine, task_id: str, outcome: TaskOutcome, now: float = T0) -> list[str]:
    key = TIKey(task_id)
    assert m.task_started(key, outcome.try_number)
    return [k.label() for k in m.task_finished(key, outcome, now).ready]


def states(m: RunMachine) -> dict[str, str]:
    return {k.label(): r.state.value for k, r in sorted(m.tis.items())}


def test_chain_runs_in_order_and_succeeds() -> None:
    m = RunMachine(graph({"a": ["b"], "b": ["c"], "c": []}))
    assert [k.task_id for k in m.start(T0).ready] == ["a"]
    assert finish(m, "a", ok()) == ["b"]
    assert finish(m, "b", ok()) == ["c"]
    assert m.run_state() is DagRunState.RUNNING
    finish(m, "c", ok())
    assert m.run_state() is DagRunState.SUCCESS


def test_fan_out_makes_every_child_ready_at_once_by_priority() -> None:
    edges: dict[str, list[str]] = {"root": [f"c{i}" for i in range(50)]}
    edges.update({f"c{i}": [] for i in range(50)})
    m = RunMachine(graph(edges, c7={"priority_weight": 9}))
    m.start(T0)
    ready = finish(m, "root", ok())
    assert len(ready) == 50
    assert ready[0] == "c7"


def test_failed_leaf_fails_the_run_only_when_everything_finished() -> None:
    m = RunMachine(graph({"a": [], "b": []}))
    m.start(T0)
    finish(m, "a", fail())
    assert m.run_state() is DagRunState.RUNNING
    finish(m, "b", ok())
    assert m.run_state() is DagRunState.FAILED


def test_failure_caught_by_an_all_done_leaf_lets_the_run_succeed() -> None:
    m = RunMachine(graph({"a": ["cleanup"], "cleanup": []}, cleanup={"trigger_rule": "all_done"}))
    m.start(T0)
    assert finish(m, "a", fail()) == ["cleanup"]
    finish(m, "cleanup", ok())
    assert m.run_state() is DagRunState.SUCCESS


def test_upstream_failed_cascades_down_a_chain() -> None:
    m = RunMachine(graph({"a": ["b"], "b": ["c"], "c": []}))
    m.start(T0)
    finish(m, "a", fail())
    assert states(m) == {"a": "failed", "b": "upstream_failed", "c": "upstream_failed"}
    assert m.run_state() is DagRunState.FAILED


def test_retry_waits_for_its_delay_and_counts_tries() -> None:
    m = RunMachine(graph({"a": []}, a={"retries": 2, "retry_delay_s": 10.0}))
    m.start(T0)
    finish(m, "a", fail(1), now=T0)
    record = m.tis[TIKey("a")]
    assert record.state is S.UP_FOR_RETRY
    assert record.next_at_s == T0 + 10
    assert m.next_due_s() == T0 + 10
    assert m.tick(T0 + 9.9).ready == ()
    assert [k.task_id for k in m.tick(T0 + 10).ready] == ["a"]
    assert m.tis[TIKey("a")].try_number == 2
    finish(m, "a", fail(2), now=T0 + 11)
    m.tick(T0 + 21)
    finish(m, "a", fail(3), now=T0 + 22)
    assert m.tis[TIKey("a")].state is S.FAILED
    assert m.run_state() is DagRunState.FAILED


def test_exponential_backoff_grows_and_is_capped() -> None:
    spec = {
        "retries": 5,
        "retry_delay_s": 10.0,
        "retry_exponential_backoff": True,
        "max_retry_delay_s": 70.0,
    }
    m = RunMachine(graph({"a": []}, a=spec), ti_identity="dag#2024")
    m.start(T0)
    delays = []
    now = T0
    for attempt in range(1, 5):
        finish(m, "a", fail(attempt), now=now)
        due = m.tis[TIKey("a")].next_at_s
        assert due is not None
        delays.append(due - now)
        now = due
        m.tick(now)
    assert 10 <= delays[0] < 20
    assert 20 <= delays[1] < 40
    assert 40 <= delays[2] <= 70
    assert delays[3] == 70


def test_non_retryable_failure_skips_retries() -> None:
    m = RunMachine(graph({"a": []}, a={"retries": 3}))
    m.start(T0)
    finish(m, "a", fail(retryable=False))
    assert m.tis[TIKey("a")].state is S.FAILED


def test_stale_and_duplicated_outcomes_change_nothing() -> None:
    m = RunMachine(graph({"a": ["b"], "b": []}, a={"retries": 1, "retry_delay_s": 0}))
    m.start(T0)
    key = TIKey("a")
    assert not m.task_started(key, 2)  # wrong try: fenced off
    assert m.task_started(key, 1)
    m.task_finished(key, fail(1), T0)
    assert m.task_finished(key, fail(1), T0).transitions == ()  # duplicate
    m.tick(T0)
    assert m.task_finished(key, ok(1), T0).transitions == ()  # late result of the old try
    assert m.tis[key].state is S.SCHEDULED
    assert finish(m, "a", ok(2)) == ["b"]


def test_branch_skips_what_it_does_not_follow() -> None:
    g = graph(
        {
            "br": ["x", "y", "g.one"],
            "x": ["join"],
            "y": ["after_y"],
            "after_y": ["join"],
            "g.one": [],
            "join": [],
        },
        br={"kind": "branch"},
        join={"trigger_rule": "none_failed_min_one_success"},
        **{"g.one": {"task_group": "g"}},
    )
    m = RunMachine(g)
    m.start(T0)
    ready = finish(m, "br", ok(follow=("x", "g")))
    assert sorted(ready) == ["g.one", "x"]
    assert m.tis[TIKey("y")].state is S.SKIPPED
    assert m.tis[TIKey("after_y")].state is S.SKIPPED
    assert finish(m, "x", ok()) == ["join"]


def test_short_circuit_all_ignores_downstream_trigger_rules() -> None:
    g = graph({"sc": ["a"], "a": ["b"], "b": []}, b={"trigger_rule": "all_done"})
    m = RunMachine(g)
    m.start(T0)
    assert finish(m, "sc", ok(short_circuit="all")) == []
    assert states(m) == {"a": "skipped", "b": "skipped", "sc": "success"}


def test_short_circuit_direct_lets_trigger_rules_decide() -> None:
    g = graph({"sc": ["a"], "a": ["b"], "b": []}, b={"trigger_rule": "all_done"})
    m = RunMachine(g)
    m.start(T0)
    assert finish(m, "sc", ok(short_circuit="direct")) == ["b"]


def _mapped(length: int | None = None, xcom: str | None = None) -> dict[str, object]:
    item = {
        "name": "x",
        "length": length,
        "xcom": {"task_id": xcom, "key": "return_value"} if xcom else None,
    }
    return {"mapped": {"kind": "product", "inputs": [item]}}


def test_mapping_over_a_literal_list() -> None:
    m = RunMachine(graph({"m": ["after"], "after": []}, m=_mapped(length=3)))
    ready = [k.label() for k in m.start(T0).ready]
    assert ready == ["m[0]", "m[1]", "m[2]"]
    for i in range(3):
        key = TIKey("m", i)
        m.task_started(key, 1)
        step = m.task_finished(key, ok(), T0)
    assert [k.label() for k in step.ready] == ["after"]


def test_mapping_over_an_upstream_xcom_and_empty_and_invalid_inputs() -> None:
    m = RunMachine(graph({"src": ["m"], "m": []}, m=_mapped(xcom="src")))
    m.start(T0)
    assert finish(m, "src", ok(xcom_lengths=(("return_value", 2),))) == ["m[0]", "m[1]"]

    empty = RunMachine(graph({"src": ["m"], "m": []}, m=_mapped(xcom="src")))
    empty.start(T0)
    finish(empty, "src", ok(xcom_lengths=(("return_value", 0),)))
    assert empty.tis[TIKey("m")].state is S.SKIPPED

    invalid = RunMachine(graph({"src": ["m"], "m": []}, m=_mapped(xcom="src")))
    invalid.start(T0)
    finish(invalid, "src", ok())
    record = invalid.tis[TIKey("m")]
    assert record.state is S.FAILED
    assert "not a list or dict" in (record.note or "")


def test_mapped_over_mapped_uses_the_number_of_successful_instances() -> None:
    m = RunMachine(graph({"a": ["b"], "b": []}, a=_mapped(length=2), b=_mapped(xcom="a")))
    m.start(T0)
    for i in range(2):
        m.task_started(TIKey("a", i), 1)
        step = m.task_finished(TIKey("a", i), ok(), T0)
    assert [k.label() for k in step.ready] == ["b[0]", "b[1]"]


def test_clear_reruns_exactly_the_cleared_tasks() -> None:
    g = graph({"a": ["b"], "b": ["c"], "c": [], "side": []}, b={"retries": 1, "retry_delay_s": 0})
    m = RunMachine(g)
    m.start(T0)
    finish(m, "a", ok())
    finish(m, "side", ok())
    finish(m, "b", fail(1))
    m.tick(T0)
    finish(m, "b", fail(2))
    assert m.run_state() is DagRunState.FAILED
    before = dict(m.tis)
    step = m.clear(["b", "c"], T0 + 1)
    assert {t.key.task_id for t in step.transitions} == {"b", "c"}
    assert [k.task_id for k in step.ready] == ["b"]
    assert m.tis[TIKey("b")].try_number == 3
    assert m.tis[TIKey("b")].max_tries == 3  # retries apply again after a clear
    assert m.run_state() is DagRunState.RUNNING
    finish(m, "b", ok(3))
    finish(m, "c", ok())
    assert m.run_state() is DagRunState.SUCCESS
    assert m.tis[TIKey("a")] == before[TIKey("a")]
    assert m.tis[TIKey("side")] == before[TIKey("side")]


def test_clearing_a_running_task_asks_to_stop_it_and_fences_its_result() -> None:
    m = RunMachine(graph({"a": []}))
    m.start(T0)
    m.task_started(TIKey("a"), 1)
    step = m.clear(["a"], T0)
    assert step.to_stop == (TIKey("a"),)
    assert m.task_finished(TIKey("a"), ok(1), T0).transitions == ()
    assert m.tis[TIKey("a")].try_number == 2


def test_a_run_that_cannot_progress_fails_instead_of_hanging() -> None:
    g = graph({"a": ["b"], "b": []})
    records = {TIKey("a"): TIRecord(state=S.REMOVED), TIKey("b"): TIRecord()}
    m = RunMachine(g, records)
    step = m.start(T0)
    assert step.ready == ()
    assert step.run_state is DagRunState.FAILED


def test_reschedule_keeps_the_try_and_the_first_poke_time() -> None:
    m = RunMachine(graph({"s": []}, s={"kind": "sensor"}))
    m.start(T0)
    m.task_started(TIKey("s"), 1)
    poke = TaskOutcome(S.UP_FOR_RESCHEDULE, 1, reschedule_at_s=T0 + 5, started_at_s=T0)
    m.task_finished(TIKey("s"), poke, T0)
    assert m.tis[TIKey("s")].state is S.UP_FOR_RESCHEDULE
    m.tick(T0 + 5)
    assert m.tis[TIKey("s")].try_number == 1
    m.task_started(TIKey("s"), 1)
    m.task_finished(
        TIKey("s"),
        TaskOutcome(S.UP_FOR_RESCHEDULE, 1, reschedule_at_s=T0 + 10, started_at_s=T0 + 5),
        T0 + 5,
    )
    assert m.tis[TIKey("s")].reschedule_started_at_s == T0


def test_rebuilding_from_records_continues_the_run() -> None:
    g = graph({"a": ["b"], "b": ["c"], "c": []})
    m = RunMachine(g)
    m.start(T0)
    finish(m, "a", ok())
    copy = RunMachine(g, dict(m.tis))
    assert copy.start(T0).ready == ()  # b is scheduled already; nothing is scheduled twice
    assert copy.scheduled_keys() == [TIKey("b")]
    finish(copy, "b", ok())
    finish(copy, "c", ok())
    assert copy.run_state() is DagRunState.SUCCESS


@pytest.mark.parametrize("state", [S.SUCCESS, S.FAILED])
def test_mark_sets_state_and_moves_downstream(state: TaskInstanceState) -> None:
    m = RunMachine(graph({"a": ["b"], "b": []}))
    m.start(T0)
    step = m.mark(TIKey("a"), state, T0)
    if state is S.SUCCESS:
        assert [k.task_id for k in step.ready] == ["b"]
    else:
        assert m.tis[TIKey("b")].state is S.UPSTREAM_FAILED


def test_marks_of_one_command_are_one_step() -> None:
    """A failed chain marked success as a whole (the leaf first) never looks finished in between."""
    m = RunMachine(graph({"a": ["b"], "b": ["c"], "c": []}))
    m.start(T0)
    m.mark(TIKey("a"), S.SUCCESS, T0)
    m.mark(TIKey("b"), S.FAILED, T0)
    assert m.run_state() is DagRunState.FAILED
    step = m.mark_many([(TIKey("c"), S.SUCCESS), (TIKey("b"), S.SUCCESS)], T0)
    assert {t.key.task_id for t in step.transitions} == {"b", "c"}
    assert not step.ready
    assert {r.state for r in m.tis.values()} == {S.SUCCESS}
    assert m.run_state() is DagRunState.SUCCESS


def _fail_fast(edges: dict[str, list[str]], **per_task: dict[str, object]) -> RunMachine:
    g = graph(edges, **per_task)  # type: ignore[arg-type]
    g.fail_fast = True
    m = RunMachine(g)
    m.start(T0)
    return m


def test_fail_fast_stops_the_others_when_a_try_fails_for_good() -> None:
    # start >> [bad, slow, later]; bad >> after; later waits for slow
    edges = {
        "start": ["bad", "slow"],
        "bad": ["after"],
        "slow": ["later"],
        "after": [],
        "later": [],
    }
    m = _fail_fast(edges)
    finish(m, "start", ok())
    m.task_started(TIKey("slow"), 1)
    m.task_started(TIKey("bad"), 1)
    step = m.task_finished(TIKey("bad"), fail(retryable=False), T0)
    states = {k.task_id: r.state for k, r in m.tis.items()}
    assert states == {
        "start": S.SUCCESS,
        "bad": S.FAILED,
        "slow": S.FAILED,  # it was running: failed, and its worker told to stop
        "after": S.SKIPPED,
        "later": S.SKIPPED,
    }
    assert step.to_stop == (TIKey("slow"),)
    # Airflow decides a run's state by its leaves: both were skipped, so the run succeeds
    assert m.run_state() is DagRunState.SUCCESS


def test_fail_fast_fails_the_run_when_a_leaf_was_running() -> None:
    m = _fail_fast({"bad": [], "slow": []})
    m.task_started(TIKey("slow"), 1)
    m.task_started(TIKey("bad"), 1)
    m.task_finished(TIKey("bad"), fail(retryable=False), T0)
    assert m.tis[TIKey("slow")].state is S.FAILED
    assert m.run_state() is DagRunState.FAILED


def test_fail_fast_waits_for_the_last_retry_and_ignores_marks() -> None:
    m = _fail_fast({"bad": [], "other": []}, bad={"retries": 1})
    m.task_started(TIKey("bad"), 1)
    m.task_finished(TIKey("bad"), fail(), T0)
    assert m.tis[TIKey("bad")].state is S.UP_FOR_RETRY
    assert m.tis[TIKey("other")].state is S.SCHEDULED
    m.mark(TIKey("bad"), S.FAILED, T0)  # by hand: the others go on
    assert m.tis[TIKey("other")].state is S.SCHEDULED
