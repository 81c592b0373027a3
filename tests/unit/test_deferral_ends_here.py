"""A deferred try that ends where its trigger fired, without a worker: which deferrals may
(EndsHere, from the task), the completion that says so, the triggerer's end events, and the run
state machine ending the try."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.queue.protocol import TryResumed, decode_completion
from airlane.queue.protocol.records import MalformedRecord
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context
from airlane.sdk.deferral import returns_only
from airlane.sdk.exceptions import TaskDeferred
from airlane.sdk.sensors.date_time import DateTimeSensorAsync
from airlane.sdk.sensors.time_delta import TimeDeltaSensor
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.triggers import TaskSkippedEvent, TaskSuccessEvent
from airlane.sdk.triggers.temporal import TimeDeltaTrigger
from airlane.service.execution.deferral import EndsHere, deferral_of, ends_here
from airlane.service.triggerer.decisions import fire_for_event
from tests.unit.graphs import graph

S = TaskInstanceState
T0 = 1_000_000.0
A = TIKey("a")


def _sensor(**kwargs: Any) -> TimeDeltaSensor:
    return TimeDeltaSensor(task_id="s", delta=timedelta(seconds=3), deferrable=True, **kwargs)


class _Plain(BaseOperator):
    def done(self, context: Context, event: Any = None) -> None:
        return None


class _Overrides(TimeDeltaSensor):
    def execute_complete(self, context: Context, event: Any = None) -> None:
        print("resumed")  # user code: runs on a worker


class _Marked(BaseOperator):
    @returns_only
    def done(self, context: Context, event: Any = None) -> None:
        return None

    def pre_execute(self, context: Context) -> None:
        print("before")


def test_a_core_sensor_resume_that_only_returns_ends_on_any_event() -> None:
    assert ends_here(_sensor(), "execute_complete") is EndsHere.ANY_EVENT
    moment = DateTimeSensorAsync(task_id="d", target_time="2030-01-01T00:00:00+00:00")
    assert ends_here(moment, "execute_complete") is EndsHere.ANY_EVENT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"on_execute_callback": print},
        {"pre_execute": print},
        {"post_execute": print},
        {"map_index_template": "{{ ti.task_id }}"},
    ],
)
def test_anything_of_the_task_to_run_on_resume_keeps_the_worker(kwargs: dict[str, Any]) -> None:
    assert ends_here(_sensor(**kwargs), "execute_complete") is EndsHere.END_EVENTS


@pytest.mark.parametrize(
    "callback",
    ["on_success_callback", "on_failure_callback", "on_skipped_callback", "on_retry_callback"],
)
def test_a_task_callback_keeps_every_end_on_a_worker(callback: str) -> None:
    assert ends_here(_sensor(**{callback: print}), "execute_complete") is EndsHere.NOTHING


def test_a_task_with_outlets_ends_on_a_worker() -> None:
    """Its success emits asset events (the worker's finish writes them)."""
    outlets = _sensor()
    outlets.outlets = ["an asset"]
    assert ends_here(outlets, "execute_complete") is EndsHere.NOTHING


def test_user_methods_resume_on_a_worker() -> None:
    assert ends_here(_Plain(task_id="p"), "done") is EndsHere.END_EVENTS
    assert ends_here(_Overrides(task_id="o", delta=1), "execute_complete") is EndsHere.END_EVENTS
    assert ends_here(_Marked(task_id="m"), "done") is EndsHere.END_EVENTS  # its pre_execute
    assert ends_here(None, "done") is EndsHere.NOTHING


def test_the_deferral_carries_what_may_end_here() -> None:
    err = TaskDeferred(trigger=TimeDeltaTrigger(timedelta(seconds=1)), method_name="done")
    assert deferral_of(err, T0).ends_here is EndsHere.NOTHING  # no task: nothing
    assert '"q":1' in deferral_of(err, T0, _Plain(task_id="p")).to_json()


def test_end_events_without_xcoms_may_end_here_with_xcoms_on_a_worker() -> None:
    assert fire_for_event("k", TaskSuccessEvent()).end_state == "success"
    assert fire_for_event("k", TaskSkippedEvent()).end_state == "skipped"
    assert fire_for_event("k", TaskSuccessEvent(xcoms={"k": 1})).end_state == ""


def test_the_completion_of_an_ended_try_round_trips() -> None:
    ended = TryResumed("d/r", "a|-1", "a", -1, 2, "success")
    assert ended.to_fields()["end"] == "success"
    assert decode_completion(ended.to_fields()) == ended
    resumed = TryResumed("d/r", "a|-1", "a", -1, 2)
    assert "end" not in resumed.to_fields()
    assert decode_completion(resumed.to_fields()) == resumed
    with pytest.raises(MalformedRecord):
        decode_completion({**ended.to_fields(), "end": "running"})


def _deferred_machine(retries: int = 0) -> RunMachine:
    m = RunMachine(graph({"a": ["b"], "b": []}, a={"retries": retries}))
    m.start(T0)
    assert m.task_started(A, 1)
    m.task_finished(A, TaskOutcome(S.DEFERRED, 1, xcom_lengths=(("k", 3),)), T0)
    return m


def test_a_try_ended_by_its_trigger_succeeds_and_its_downstream_runs() -> None:
    m = _deferred_machine()
    step = m.task_ended_by_trigger(A, 1, S.SUCCESS, T0 + 3)
    assert m.tis[A].state is S.SUCCESS
    assert m.tis[A].xcom_lengths == (("k", 3),)  # what it pushed before deferring
    assert step.ready == (TIKey("b"),)


def test_a_trigger_failing_the_task_uses_no_retry() -> None:
    m = _deferred_machine(retries=2)
    m.task_ended_by_trigger(A, 1, S.FAILED, T0 + 3)
    assert m.tis[A].state is S.FAILED
    assert m.tis[A].note == "ended failed by its trigger"


def test_a_stale_end_is_ignored() -> None:
    m = _deferred_machine()
    assert m.task_ended_by_trigger(A, 2, S.SUCCESS, T0).transitions == ()
    m.task_resumed(A, 1, T0)
    m.task_ended_by_trigger(A, 1, S.SUCCESS, T0)
    assert m.tis[A].state is S.SCHEDULED  # resumed already: its worker ends it
