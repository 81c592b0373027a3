"""A pool's include_deferred (Airflow's ``Pool.include_deferred``): deferred instances hold their
pool's slots while they wait when it is set, give them back when it is not; a change of the flag
and a restarted coordinator count the same; the API's slot figures follow ``Pool``."""

from __future__ import annotations

from collections import Counter

from airlane.api.pools import pool_response
from airlane.engine.run_state import TaskOutcome, TIKey, TIRecord
from airlane.engine.state_machine import RunMachine
from airlane.sdk.state import TaskInstanceState as S
from airlane.service.coordinator.admission import (
    count_deferred,
    deferral_change,
    has_room,
    pool_limits,
    pool_occupied,
    take_slots,
)
from airlane.service.coordinator.session import Session
from airlane.service.coordinator.state import AdmissionState
from airlane.service.run_context import RunContext
from airlane.service.stored_records import PoolRecord, decode_pool
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph


def test_deferred_slots_count_only_in_a_pool_that_includes_them() -> None:
    spec = graph({"a": []}, a={"pool": "p", "pool_slots": 2}).tasks["a"]
    state = AdmissionState(pool_slots={"p": 3})
    count_deferred(state, spec, 1)
    assert state.pool_deferred["p"] == 2
    assert pool_occupied(state, "p") == 0  # include_deferred false (Airflow's default)
    assert has_room(state, "d", 5, spec)
    state.pools_holding_deferred = frozenset({"p"})
    assert pool_occupied(state, "p") == 2
    assert not has_room(state, "d", 5, spec)  # 2 deferred + 2 > 3 slots
    take_slots(state, "d|r", "d", spec)
    assert pool_occupied(state, "p") == 4
    count_deferred(state, spec, -1)
    assert "p" not in state.pool_deferred  # no entry left at zero
    assert pool_occupied(state, "p") == 2


def test_a_deferral_change_is_entering_or_leaving_deferred() -> None:
    assert deferral_change(S.RUNNING, S.DEFERRED) == 1
    assert deferral_change(S.DEFERRED, S.SCHEDULED) == -1  # resumed by its trigger
    assert deferral_change(S.DEFERRED, S.SUCCESS) == -1  # ended by its trigger, or marked
    assert deferral_change(S.DEFERRED, S.NONE) == -1  # cleared
    assert deferral_change(S.DEFERRED, None) == -1
    assert deferral_change(S.RUNNING, S.SUCCESS) == 0
    assert deferral_change(None, S.SCHEDULED) == 0


def test_pool_records_carry_the_flag() -> None:
    assert decode_pool('{"slots": 2, "description": ""}') == PoolRecord(2, False)
    assert decode_pool('{"slots": -1, "include_deferred": true}') == PoolRecord(-1, True)
    slots, holding = pool_limits({"a": PoolRecord(1, True), "b": PoolRecord(4)})
    assert (slots, holding) == ({"a": 1, "b": 4}, frozenset({"a"}))


def _queued(ctx: RunContext) -> set[str]:
    return {key.task_id for key, record in ctx.machine.tis.items() if record.state is S.QUEUED}


def _defer(session: Session, ctx: RunContext, key: TIKey) -> None:
    """Run ``key``'s first try until it defers, through the session's progress."""
    assert ctx.machine.task_started(key, 1)
    step = ctx.machine.task_finished(key, TaskOutcome(S.DEFERRED, 1), 1.0)
    session.progress.after_step(ctx, step, 1.0)


def _two_tasks_in_one_slot(include_deferred: bool) -> tuple[Session, RunContext]:
    """A pool of one slot, two tasks in it: a runs and defers, b is in line."""
    session = offline_session()
    session.state.admission.pool_slots = {"p": 1}
    if include_deferred:
        session.state.admission.pools_holding_deferred = frozenset({"p"})
    g = graph({"a": [], "b": []}, a={"pool": "p"}, b={"pool": "p"})
    ctx = add_run(session, "d", "r", g)
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    assert _queued(ctx) == {"a"}
    _defer(session, ctx, TIKey("a"))
    assert ctx.machine.tis[TIKey("a")].state is S.DEFERRED
    session.admission.dispatch_touched()
    return session, ctx


def test_a_deferred_instance_keeps_its_slot_when_the_pool_includes_deferred() -> None:
    session, ctx = _two_tasks_in_one_slot(include_deferred=True)
    admission = session.state.admission
    assert _queued(ctx) == set()  # b waits: a's slot is still taken
    assert (admission.pool_held["p"], admission.pool_deferred["p"]) == (0, 1)
    assert admission.held["d"] == 0  # a deferred instance holds no slot of its DAG
    # the pool's flag turned off (a pools command): a gives its slot back while it waits
    admission.pools_holding_deferred = frozenset()
    session.admission.recheck_all()
    session.admission.dispatch_touched()
    assert _queued(ctx) == {"b"}
    # a's trigger fires: it leaves deferred and waits in line for a slot again
    session.progress.after_step(ctx, ctx.machine.task_resumed(TIKey("a"), 1, 2.0), 2.0)
    assert "p" not in admission.pool_deferred
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    assert ctx.machine.tis[TIKey("a")].state is S.SCHEDULED  # b holds the only slot


def test_a_deferred_instance_gives_its_slot_back_by_default() -> None:
    session, ctx = _two_tasks_in_one_slot(include_deferred=False)
    admission = session.state.admission
    assert _queued(ctx) == {"b"}
    assert (admission.pool_held["p"], admission.pool_deferred["p"]) == (1, 1)


def test_a_resumed_instance_frees_the_deferred_slot_for_the_line() -> None:
    session, ctx = _two_tasks_in_one_slot(include_deferred=True)
    session.progress.after_step(ctx, ctx.machine.task_resumed(TIKey("a"), 1, 2.0), 2.0)
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    # b was first in line: it takes the slot a gave back; a waits behind it
    assert _queued(ctx) == {"b"}
    assert [key.task_id for _, key in session.state.admission.waiting["d"]] == ["a"]


def test_a_cleared_deferred_instance_gives_its_slot_back() -> None:
    session, ctx = _two_tasks_in_one_slot(include_deferred=True)
    session.progress.after_step(ctx, ctx.machine.clear(["a"], 2.0), 2.0)
    assert session.state.admission.pool_deferred == Counter()
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    assert "b" in _queued(ctx)


def test_a_restarted_coordinator_counts_the_same() -> None:
    session, ctx = _two_tasks_in_one_slot(include_deferred=True)
    before = session.state.admission
    restarted = offline_session()
    tis: dict[TIKey, TIRecord] = dict(ctx.machine.tis)
    machine = RunMachine(ctx.graph, tis, ti_identity="d#x")
    rebuilt = RunContext(ctx.dag_id, ctx.run_id, ctx.dag, ctx.graph, machine, dict(ctx.fields))
    restarted.state.runs.runs[rebuilt.ref] = rebuilt
    restarted.runs._count_held(rebuilt)
    after = restarted.state.admission
    assert after.pool_deferred == before.pool_deferred == Counter({"p": 1})
    assert (after.pool_held, after.held) == (before.pool_held, before.held)


def test_the_api_figures_follow_airflow_pool() -> None:
    used = Counter({"running": 1, "queued": 2, "scheduled": 4, "deferred": 3})
    off = pool_response("p", {"slots": 5}, used)
    assert off["include_deferred"] is False
    assert (off["occupied_slots"], off["deferred_slots"], off["open_slots"]) == (3, 3, 2)
    on = pool_response("p", {"slots": 5, "include_deferred": True}, used)
    assert (on["occupied_slots"], on["deferred_slots"], on["open_slots"]) == (6, 3, -1)
    assert (on["running_slots"], on["queued_slots"], on["scheduled_slots"]) == (1, 2, 4)
    unlimited = pool_response("p", {"slots": -1, "include_deferred": True}, used)
    assert unlimited["open_slots"] == -1
