"""Admission on plain data: DAG and pool slots, the waiting line's order, run limits."""

from __future__ import annotations

from airlane.engine.run_state import TaskOutcome, TIKey, TIRecord
from airlane.sdk.state import TaskInstanceState as S
from airlane.service.coordinator.admission import (
    DEFAULT_MAX_ACTIVE,
    active_runs_of,
    has_room,
    max_active_tasks,
    pool_limit,
    release_slots,
    runs_going,
    take_slots,
    task_has_room,
    under_max_active_runs,
)
from airlane.service.coordinator.settings import DEFAULT_POOL_SLOTS
from airlane.service.coordinator.state import AdmissionState
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph


def test_pool_limits_follow_airflow() -> None:
    slots = {"small": 2, "open": -1}
    assert pool_limit(slots, "small") == 2
    assert pool_limit(slots, "open") == float("inf")
    assert pool_limit(slots, "default_pool") == DEFAULT_POOL_SLOTS
    assert pool_limit({"default_pool": 3}, "default_pool") == 3
    assert pool_limit(slots, "missing") == 0  # a task of an unknown pool waits


def test_room_is_the_dag_limit_and_the_pool_size() -> None:
    spec = graph({"a": []}, a={"pool": "p", "pool_slots": 2}).tasks["a"]
    state = AdmissionState(pool_slots={"p": 3})
    assert has_room(state, "d", 5, spec)
    take_slots(state, "d|r", "d", spec)
    assert state.held["d"] == 1
    assert state.pool_held["p"] == 2
    assert not has_room(state, "d", 5, spec)  # 2 + 2 > 3 slots of the pool
    assert not has_room(state, "d", 1, spec)  # and the DAG is at max_active_tasks
    release_slots(state, "d|r", "d", spec)
    assert has_room(state, "d", 1, spec)
    assert state.held["d"] == 0
    assert state.pool_held["p"] == 0


def test_run_limits_leave_backfills_out() -> None:
    session = offline_session()
    g = graph({"a": []})
    add_run(session, "d", "r1", g)
    add_run(session, "d", "r2", g, run_type="backfill")
    add_run(session, "other", "r1", g)
    runs = session.state.runs.runs.values()
    assert active_runs_of(runs, "d") == 1
    assert under_max_active_runs({"max_active_runs": 2}, 1)
    assert not under_max_active_runs({"max_active_runs": 1}, 1)
    assert under_max_active_runs({}, DEFAULT_MAX_ACTIVE - 1)
    assert max_active_tasks({}) == DEFAULT_MAX_ACTIVE
    going = runs_going(runs, {"d": {"d|r3", "d|r4"}, "new": {"new|r1"}})
    assert going == {"d": 4, "other": 1, "new": 1}


def _queued(tis: dict[TIKey, TIRecord]) -> set[str]:
    return {key.task_id for key, record in tis.items() if record.state is S.QUEUED}


def test_dispatch_keeps_max_active_tasks_and_the_order_of_the_line() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": [], "b": [], "c": []}), max_active_tasks=2)
    session.progress.drain_ready()
    assert list(session.state.admission.waiting["d"]) == [
        (ctx.ref, TIKey("a")),
        (ctx.ref, TIKey("b")),
        (ctx.ref, TIKey("c")),
    ]
    session.admission.dispatch_touched()
    assert _queued(ctx.machine.tis) == {"a", "b"}
    assert session.state.admission.held["d"] == 2
    queue = session.keys.queue("default")
    queue_adds = [op for op in session.outbox.batch.ops if op[:2] == ["X", queue]]
    assert len(queue_adds) == 2

    # a ends: its slot goes to c, the next in line
    ctx.machine.task_started(TIKey("a"), 1)
    step = ctx.machine.task_finished(TIKey("a"), TaskOutcome(S.SUCCESS, 1), 1.0)
    session.progress.after_step(ctx, step, 1.0)
    assert session.state.admission.held["d"] == 1
    session.admission.dispatch_touched()
    assert _queued(ctx.machine.tis) == {"b", "c"}


def test_a_full_pool_holds_the_line() -> None:
    session = offline_session()
    session.state.admission.pool_slots = {"p": 1}
    g = graph({"a": [], "b": []}, a={"pool": "p"}, b={"pool": "p"})
    ctx = add_run(session, "d", "r", g)
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    assert _queued(ctx.machine.tis) == {"a"}
    assert [key.task_id for _, key in session.state.admission.waiting["d"]] == ["b"]
    session.state.admission.pool_slots = {"p": 2}  # the pool grew (a pools command)
    session.admission.recheck_all()
    session.admission.dispatch_touched()
    assert _queued(ctx.machine.tis) == {"a", "b"}


def test_empty_operators_finish_without_a_worker() -> None:
    session = offline_session()
    g = graph({"start": ["work"], "work": []}, start={"is_empty": True})
    ctx = add_run(session, "d", "r", g)
    spec = ctx.graph.tasks["start"]
    assert spec.is_empty, "the graph helper must mark it empty for this test"
    session.progress.drain_ready()
    assert ctx.machine.tis[TIKey("start")].state is S.SUCCESS
    assert [key.task_id for _, key in session.state.admission.waiting["d"]] == ["work"]


def test_empty_operators_take_no_slot_and_give_none_back() -> None:
    session = offline_session()
    g = graph({"start": ["work"], "work": []}, start={"is_empty": True})
    add_run(session, "d", "r", g)
    session.progress.drain_ready()
    assert session.state.admission.held["d"] == 0
    assert session.state.admission.pool_held["default_pool"] == 0


def test_a_task_at_its_own_limit_steps_aside_without_holding_the_line() -> None:
    session = offline_session()
    g = graph(
        {"a": [], "b": [], "c": []},
        a={"max_active_tis_per_dag": 1},
        b={"max_active_tis_per_dagrun": 1},
    )
    first = add_run(session, "d", "r1", g)
    second = add_run(session, "d", "r2", g)
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    # a: one across the DAG's runs; b: one per run; c: no limit of its own
    assert _queued(first.machine.tis) == {"a", "b", "c"}
    assert _queued(second.machine.tis) == {"b", "c"}
    assert [(ref, key.task_id) for ref, key in session.state.admission.waiting["d"]] == [
        (second.ref, "a")
    ]
    first.machine.task_started(TIKey("a"), 1)
    step = first.machine.task_finished(TIKey("a"), TaskOutcome(S.SUCCESS, 1), 1.0)
    session.progress.after_step(first, step, 1.0)
    session.admission.dispatch_touched()
    assert _queued(second.machine.tis) == {"a", "b", "c"}
    assert session.state.admission.task_held == {("d", "a"): 1, ("d", "b"): 2, ("d", "c"): 2}


def test_task_limits_count_queued_and_running_instances() -> None:
    spec = graph({"a": []}, a={"max_active_tis_per_dagrun": 2}).tasks["a"]
    state = AdmissionState()
    assert task_has_room(state, "d|r", "d", spec)
    take_slots(state, "d|r", "d", spec)
    take_slots(state, "d|r", "d", spec)
    assert not task_has_room(state, "d|r", "d", spec)
    assert task_has_room(state, "d|other", "d", spec)
    release_slots(state, "d|r", "d", spec)
    assert task_has_room(state, "d|r", "d", spec)
    release_slots(state, "d|r", "d", spec)
    assert not state.run_task_held  # a run's counts go with its last instance
