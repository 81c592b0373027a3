"""The wake command: a waiting (up_for_reschedule) instance runs at once when its HITL answer
comes, keeping its try; other states and stale due times are left alone."""

from __future__ import annotations

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.queue.hitl import ANSWERS_MAXLEN
from airlane.queue.protocol import WakeTask, decode_command
from airlane.sdk.state import TaskInstanceState
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph

S = TaskInstanceState
T0 = 1_000_000.0


def test_wake_schedules_a_waiting_instance_now_with_the_same_try() -> None:
    m = RunMachine(graph({"ask": ["after"], "after": []}))
    m.start(T0)
    key = TIKey("ask")
    assert m.task_started(key, 1)
    wait = TaskOutcome(S.UP_FOR_RESCHEDULE, 1, reschedule_at_s=T0 + 60, started_at_s=T0)
    m.task_finished(key, wait, T0)
    step = m.wake(key, T0 + 1)
    assert [k.task_id for k in step.ready] == ["ask"]
    assert (m.tis[key].state, m.tis[key].try_number) == (S.SCHEDULED, 1)
    assert m.wake(key, T0 + 2).ready == ()  # not waiting any more: nothing to do
    assert m.tick(T0 + 61).ready == ()  # the old due time is stale


def test_wake_command_round_trips() -> None:
    command = WakeTask("d|run 1", "ask", 3)
    assert decode_command(command.to_fields()) == command


def test_a_wake_during_the_try_makes_its_wait_due_at_once() -> None:
    m = RunMachine(graph({"ask": []}))
    m.start(T0)
    key = TIKey("ask")
    assert m.task_started(key, 1)
    assert m.wake(key, T0 + 0.5).ready == ()  # answered before the try ended
    wait = TaskOutcome(S.UP_FOR_RESCHEDULE, 1, reschedule_at_s=T0 + 60, started_at_s=T0)
    m.task_finished(key, wait, T0 + 1)
    assert m.tis[key].next_at_s == T0 + 1
    assert [k.task_id for k in m.tick(T0 + 1).ready] == ["ask"]


def test_a_wake_of_a_deferred_instance_tells_its_hitl_trigger() -> None:
    """A deferred HITL task waits on its trigger: the wake command adds a ``hitl_answers``
    notice (the trigger reads the answer now) and leaves the instance deferred."""
    s = offline_session()
    ctx = add_run(s, "d", "r", graph({"ask": []}))
    key = TIKey("ask")
    assert ctx.machine.task_started(key, 1)
    ctx.machine.task_finished(key, TaskOutcome(S.DEFERRED, 1), 1.0)
    s.events.wake("d|r", key)
    notices = [op for op in s.outbox.batch.ops if op[:2] == ["X", s.keys.hitl_answers]]
    assert notices == [
        ["X", s.keys.hitl_answers, str(ANSWERS_MAXLEN), ["run", "d|r", "ti", "ask|-1"]]
    ]
    assert ctx.machine.tis[key].state is S.DEFERRED
