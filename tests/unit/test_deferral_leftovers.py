"""The deferral entries the coordinator removes because nobody else would: a deferral that lands
after its instance moved on, a trigger event for a try no longer deferred, and the resume of a
resumed try that will not run (cleared, marked, stopped or failed before it finished)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from airlane.engine.run_state import TaskOutcome, TIKey, Transition
from airlane.engine.state_machine import RunMachine
from airlane.queue.keys import Keys
from airlane.queue.protocol import TryFinished, TryResumed
from airlane.queue.scripts import Batch
from airlane.sdk.state import TaskInstanceState
from airlane.service.coordinator import deferrals
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph

S = TaskInstanceState
KEYS = Keys()
T0 = 1_000_000.0
A = TIKey("a")
FIELD = "d|r|a|-1"


def _machine() -> RunMachine:
    m = RunMachine(graph({"a": [], "b": []}))
    m.start(T0)
    assert m.task_started(A, 1)
    return m


def _finished(state: TaskInstanceState, try_number: int = 1) -> TryFinished:
    return TryFinished("d|r", "a|-1", "a", -1, try_number, TaskOutcome(state, try_number))


def _resumed_machine() -> RunMachine:
    m = _machine()
    m.task_finished(A, TaskOutcome(S.DEFERRED, 1), T0)
    m.task_resumed(A, 1, T0 + 1)
    return m


def _resume_removals(transitions: Iterable[Transition]) -> list[list[Any]]:
    batch = Batch()
    for transition in transitions:
        deferrals.after_transition(batch, KEYS, "d", "r", transition)
    return batch.ops


def test_a_deferral_landing_after_a_mark_is_forgotten_for_its_try() -> None:
    m = _machine()
    m.mark(A, S.SUCCESS, T0 + 1)
    event = _finished(S.DEFERRED)
    m.task_finished(A, event.outcome, T0 + 2)
    batch = Batch()
    deferrals.after_finished(batch, KEYS, event, m.tis[A])
    assert batch.ops == [["W", KEYS.deferred, FIELD, "1", KEYS.trigger_timeouts]]
    run_gone = Batch()
    deferrals.after_finished(run_gone, KEYS, event, None)
    assert run_gone.ops == batch.ops


def test_a_deferral_taken_or_another_outcome_leaves_nothing() -> None:
    m = _machine()
    event = _finished(S.DEFERRED)
    m.task_finished(A, event.outcome, T0)
    batch = Batch()
    deferrals.after_finished(batch, KEYS, event, m.tis[A])
    deferrals.after_finished(batch, KEYS, _finished(S.SUCCESS), None)
    assert batch.ops == []


def test_a_trigger_event_for_a_try_no_longer_deferred_drops_its_resume() -> None:
    m = _machine()
    m.task_finished(A, TaskOutcome(S.DEFERRED, 1), T0)
    m.mark(A, S.FAILED, T0 + 1)
    event = TryResumed("d|r", "a|-1", "a", -1, 1)
    m.task_resumed(A, 1, T0 + 2)
    batch = Batch()
    deferrals.after_resumed(batch, KEYS, event, m.tis[A])
    assert batch.ops == [["D", KEYS.resumes, f"{FIELD}|1"]]
    taken = _machine()
    taken.task_finished(A, TaskOutcome(S.DEFERRED, 1), T0)
    taken.task_resumed(A, 1, T0 + 1)
    kept = Batch()
    deferrals.after_resumed(kept, KEYS, event, taken.tis[A])
    assert kept.ops == []


def test_a_resumed_try_cleared_or_marked_before_it_ran_drops_its_resume() -> None:
    removal = [["D", KEYS.resumes, f"{FIELD}|1"]]
    cleared = _resumed_machine()
    assert _resume_removals(cleared.clear(["a"], T0 + 2).transitions) == removal
    marked = _resumed_machine()
    marked.task_queued(A)
    assert _resume_removals(marked.mark(A, S.SKIPPED, T0 + 2).transitions) == removal
    lost = _resumed_machine()
    assert lost.task_started(A, 1)
    failed = lost.task_finished(A, TaskOutcome(S.FAILED, 1, retryable=False), T0 + 2)
    assert _resume_removals(failed.transitions) == removal


def test_a_resumed_try_that_runs_or_defers_again_keeps_its_resume() -> None:
    m = _resumed_machine()
    m.task_queued(A)
    assert m.task_started(A, 1)
    released = m.task_released(A, 1, T0 + 2)  # handed back: the same try runs again
    assert _resume_removals(released.transitions) == []
    assert m.task_started(A, 1)
    again = m.task_finished(A, TaskOutcome(S.DEFERRED, 1), T0 + 3)
    assert _resume_removals(again.transitions) == []


def test_the_coordinator_forgets_what_stale_completions_and_transitions_leave() -> None:
    """The session wires it: a late deferral (its run loaded or not), and a resumed try marked
    before a worker claimed it."""
    s = offline_session()
    ctx = add_run(s, "d", "r", graph({"a": []}))
    assert ctx.machine.task_started(A, 1)
    ctx.machine.mark(A, S.SUCCESS, T0)
    s.events.on_completion(_finished(S.DEFERRED), set())
    gone = TryFinished("d|gone", "a|-1", "a", -1, 1, TaskOutcome(S.DEFERRED, 1))
    s.events.on_completion(gone, set())
    resumed = add_run(s, "d", "r2", graph({"a": []}))
    assert resumed.machine.task_started(A, 1)
    resumed.machine.task_finished(A, TaskOutcome(S.DEFERRED, 1), T0)
    s.events.on_completion(TryResumed("d|r2", "a|-1", "a", -1, 1), set())
    asyncio.run(s.events.mark("d|r2", [(A, S.FAILED)]))
    ops = s.outbox.batch.ops
    keys = s.keys
    assert ["W", keys.deferred, FIELD, "1", keys.trigger_timeouts] in ops
    assert ["W", keys.deferred, "d|gone|a|-1", "1", keys.trigger_timeouts] in ops
    assert ["D", keys.resumes, "d|r2|a|-1|1"] in ops


def _started(s: Any, run_id: str) -> None:
    ctx = add_run(s, "d", run_id, graph({"a": []}))
    assert ctx.machine.task_started(A, 1)
    s.recovery.running((ctx.ref, A), "w1", 1)


def test_a_running_try_cleared_or_marked_has_its_deferral_forgotten_in_the_same_write() -> None:
    """The stale-trigger race: a try still running when its instance moves on may have
    deferred already; its deferral goes in the move's own batch (fenced on its try), not only
    once its completion is read (tests/integration/test_stale_trigger.py drives the scripts)."""
    s = offline_session()
    for run_id in ("r", "r2"):
        _started(s, run_id)
    asyncio.run(s.events.clear("d|r", ["a"]))
    asyncio.run(s.events.mark("d|r2", [(A, S.SUCCESS)]))
    forgets = [op for op in s.outbox.batch.ops if op[0] == "W"]
    keys = s.keys
    assert forgets == [
        ["W", keys.deferred, FIELD, "1", keys.trigger_timeouts],
        ["W", keys.deferred, "d|r2|a|-1", "1", keys.trigger_timeouts],
    ]


def test_a_try_that_defers_or_ends_by_itself_forgets_nothing_at_once() -> None:
    s = offline_session()
    _started(s, "r")
    s.events.on_completion(_finished(S.DEFERRED), set())
    asyncio.run(s.events.mark("d|r", [(A, S.SUCCESS)]))  # marked while deferred: HDEL as before
    assert not [op for op in s.outbox.batch.ops if op[0] == "W"]
