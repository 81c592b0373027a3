"""Task callbacks of tries that died with their worker, on plain data: the job recovery records
when it fails such a try (Airflow 3.1's TaskCallbackRequest: on_retry_callback when the try
will be retried, else on_failure_callback), its event, and the context the callback gets."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from airlane.engine.run_state import TIKey
from airlane.queue.events_protocol import CallbackEvent, CallbackOutcome, decode_event
from airlane.queue.protocol.refs import ClaimRef
from airlane.queue.task_callback_jobs import TaskCallbackJob, TaskCallbackKind, decode_job
from airlane.sdk import DAG
from airlane.sdk.operators.python import PythonOperator
from airlane.service.coordinator.recovery import Recovery
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.dag_callbacks import LastTI
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_callbacks import task_callbacks
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph

WHEN = pendulum.datetime(2026, 1, 2, tz="UTC")
BOTH = ["on_failure_callback", "on_retry_callback"]


def _pending(session: Any) -> list[TaskCallbackJob]:
    key = session.keys.callbacks_pending
    ops = session.outbox.batch.ops
    jobs = [decode_job(op[3]) for op in ops if op[0] == "H" and op[1] == key]
    return [job for job in jobs if isinstance(job, TaskCallbackJob)]


def _reap(retries: int, has_callbacks: list[str], started: bool = True) -> Any:
    session = offline_session()
    tasks = [{"task_id": "a", "has_callbacks": has_callbacks}]
    ctx = add_run(session, "d", "r", graph({"a": []}, a={"retries": retries}), tasks=tasks)
    key = TIKey("a", -1)
    if started:
        ctx.machine.task_started(key, 1)
    claim = ClaimRef("q", "1-0", "d", "r", "a", -1, 1)
    Recovery(session)._fail_lost_try(claim, "w1", 5.0)
    return session


def test_a_dead_try_that_will_be_retried_gets_its_retry_callback() -> None:
    session = _reap(retries=1, has_callbacks=BOTH)
    (job,) = _pending(session)
    assert (job.task_id, job.map_index, job.try_number) == ("a", -1, 1)
    assert (job.kind, job.max_tries) == (TaskCallbackKind.RETRY, 1)
    assert job.reason == "worker w1 stopped heartbeating"
    assert job.job_id.endswith("d|r|a|-1|1|on_retry_callback|g0")


def test_a_dead_try_without_retries_left_gets_its_failure_callback() -> None:
    (job,) = _pending(_reap(retries=0, has_callbacks=BOTH))
    assert job.kind is TaskCallbackKind.FAILURE


def test_no_job_without_the_callback_or_for_a_stale_try() -> None:
    assert _pending(_reap(retries=1, has_callbacks=["on_failure_callback"])) == []
    assert _pending(_reap(retries=0, has_callbacks=["on_retry_callback"])) == []
    # the claimed try is not the instance's (it was never started): nothing failed, no job
    assert _pending(_reap(retries=0, has_callbacks=BOTH, started=False)) == []


def test_the_event_names_the_task_and_try() -> None:
    event = CallbackEvent("d", "r", "on_retry_callback", CallbackOutcome.DONE, 1, "", "a", 3, 2)
    assert decode_event(event.to_fields()) == event
    assert event.payload()["task_id"] == "a"
    assert event.payload()["try_number"] == 2
    dag_event = CallbackEvent("d", "r", "on_failure_callback", CallbackOutcome.DONE, 1)
    assert "task_id" not in dag_event.payload()


def _dag() -> DAG:
    def record(context: Any) -> None:
        pass

    with DAG("d", schedule=None, start_date=WHEN) as dag:
        PythonOperator(
            task_id="a",
            python_callable=lambda: 1,
            on_failure_callback=[record, record],
            on_retry_callback=record,
        )
    return dag


def test_the_context_is_the_dead_tries_without_exception_or_reason() -> None:
    dag = _dag()
    run = RunInfo("d", "manual__x", WHEN, WHEN, WHEN, {}, "manual")
    dead = LastTI("a", -1, 2, 3, "up_for_retry")
    context, callbacks = task_callbacks(dag, run, dead, "on_retry_callback", InMemoryXComs())
    assert len(callbacks) == 1
    assert (context["ti"].task_id, context["ti"].try_number, context["ti"].max_tries) == ("a", 2, 3)
    assert context["task"] is dag.task_dict["a"]
    assert "exception" not in context
    assert "reason" not in context
    _, failures = task_callbacks(dag, run, dead, "on_failure_callback", InMemoryXComs())
    assert len(failures) == 2
    with pytest.raises(ValueError, match="not a task callback"):
        task_callbacks(dag, run, dead, "on_success_callback", InMemoryXComs())
