"""Deferral in the run state machine and the SDK surface: a deferred try keeps its try number,
resumes as the same try, is stopped by clearing, and is unfinished for the run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.queue.codec import TIMeta, decode_ti, encode_ti
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.deferral import TRIGGER_FAIL_REPR, TriggerFailureReason
from airlane.sdk.exceptions import TaskDeferralError, TaskDeferralTimeout, TaskDeferred
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.sdk.triggers import TriggerEvent
from airlane.sdk.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger
from tests.unit.graphs import graph

S = TaskInstanceState
T0 = 1_000_000.0
A = TIKey("a")


def _deferred_machine() -> RunMachine:
    m = RunMachine(graph({"a": ["b"], "b": []}))
    m.start(T0)
    assert m.task_started(A, 1)
    m.task_finished(A, TaskOutcome(S.DEFERRED, 1), T0)
    return m


def test_a_deferred_try_keeps_its_try_and_the_run_waits() -> None:
    m = _deferred_machine()
    assert m.tis[A].state is S.DEFERRED
    assert m.tis[A].try_number == 1
    assert m.run_state() is DagRunState.RUNNING
    assert m.next_due_s() is None


def test_a_resumed_try_is_the_same_try_and_succeeds() -> None:
    m = _deferred_machine()
    step = m.task_resumed(A, 1, T0 + 1)
    assert step.ready == (A,)
    assert m.tis[A].state is S.SCHEDULED
    assert m.tis[A].try_number == 1
    assert m.tis[A].resumed  # its message tells the worker to read how it resumes
    record, _ = decode_ti(encode_ti(m.tis[A], TIMeta()))
    assert record == m.tis[A]
    assert m.task_started(A, 1)
    ready = m.task_finished(A, TaskOutcome(S.SUCCESS, 1), T0 + 2).ready
    assert ready == (TIKey("b"),)
    assert not m.tis[A].resumed


def test_a_stale_resume_is_ignored() -> None:
    m = _deferred_machine()
    assert m.task_resumed(A, 2, T0).ready == ()
    m.task_resumed(A, 1, T0)
    assert m.task_resumed(A, 1, T0).ready == ()  # the second event of a fanned-out trigger


def test_clearing_a_deferred_instance_stops_its_trigger() -> None:
    m = _deferred_machine()
    step = m.clear(["a"], T0)
    assert A in step.to_stop
    assert m.task_resumed(A, 1, T0).ready == ()


def test_defer_raises_task_deferred_with_airflow_arguments() -> None:
    op = BaseOperator(task_id="t")
    trigger = TimeDeltaTrigger(timedelta(seconds=1))
    with pytest.raises(TaskDeferred) as raised:
        op.defer(trigger=trigger, method_name="done", kwargs={"x": 1}, timeout=5)
    assert raised.value.timeout == timedelta(seconds=5)
    assert raised.value.method_name == "done"
    assert raised.value.kwargs == {"x": 1}
    assert not isinstance(raised.value, Exception)  # ``except Exception`` does not catch it


def test_resume_execution_calls_the_method_or_raises_the_trigger_failure() -> None:
    class Op(BaseOperator):
        def done(self, context: object, event: object = None) -> object:
            return event

    op = Op(task_id="t")
    assert op.resume_execution("done", {"event": 3}, {}) == 3  # type: ignore[arg-type]
    timeout = {"error": TriggerFailureReason.TRIGGER_TIMEOUT.value}
    with pytest.raises(TaskDeferralTimeout, match="Trigger timeout"):
        op.resume_execution(TRIGGER_FAIL_REPR, timeout, {})  # type: ignore[arg-type]
    failure = {"error": "Trigger failure", "traceback": ["Traceback", "ValueError: x"]}
    with pytest.raises(TaskDeferralError, match="Trigger failure"):
        op.resume_execution(TRIGGER_FAIL_REPR, failure, {})  # type: ignore[arg-type]


def test_time_delta_trigger_serializes_as_a_date_time_trigger_and_fires() -> None:
    trigger = TimeDeltaTrigger(timedelta(milliseconds=10))
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow.providers.standard.triggers.temporal.DateTimeTrigger"
    rebuilt = DateTimeTrigger(**kwargs)

    async def first() -> TriggerEvent:
        async for event in rebuilt.run():
            return event
        raise AssertionError("no event")

    assert asyncio.run(first()) == TriggerEvent(kwargs["moment"])
