"""DAG-level callbacks on plain data: the job the coordinator records at a run's end, the
context a callback gets (Airflow 3.1's), and how the callables are called."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.queue.callback_jobs import CallbackKind, CallbackReason, DagCallbackJob
from airlane.queue.events_protocol import CallbackEvent, CallbackOutcome, decode_event
from airlane.queue.protocol import MalformedRecord
from airlane.sdk import DAG
from airlane.sdk.operators.empty import EmptyOperator
from airlane.sdk.operators.python import PythonOperator
from airlane.sdk.state import TaskInstanceState as S
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.dag_callbacks import (
    LastTI,
    call_callback,
    callback_context,
    dag_callbacks,
    last_ti,
    run_callbacks,
)
from airlane.service.execution.runtime_ti import InMemoryXComs
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph

WHEN = pendulum.datetime(2026, 1, 2, tz="UTC")


def _pending(session: Any) -> list[DagCallbackJob]:
    key = session.keys.callbacks_pending
    return [
        DagCallbackJob.decode(op[3])
        for op in session.outbox.batch.ops
        if op[0] == "H" and op[1] == key
    ]


def test_the_job_id_is_the_run_the_kind_and_the_end() -> None:
    job = DagCallbackJob("d", "r", CallbackKind.FAILURE, CallbackReason.TASK_FAILURE, 12.3456)
    assert job.job_id == "airlane-dag-callback:d|r|on_failure_callback|12346"
    assert DagCallbackJob.decode(job.encode()) == job
    with pytest.raises(MalformedRecord):
        DagCallbackJob.decode('{"dag_id": "d"}')


def test_the_callback_event_round_trips() -> None:
    event = CallbackEvent("d", "r", "on_failure_callback", CallbackOutcome.FAILED, 3, "boom")
    assert decode_event(event.to_fields()) == event
    assert event.payload()["outcome"] == "failed"


def test_a_failed_run_records_its_failure_callback_in_the_batch_of_its_end() -> None:
    session = offline_session()
    ctx = add_run(
        session,
        "d",
        "r",
        graph({"a": []}),
        has_on_failure_callback=True,
        has_on_success_callback=True,
    )
    key = TIKey("a", -1)
    ctx.machine.task_started(key, 1)
    step = ctx.machine.task_finished(key, TaskOutcome(S.FAILED, 1), 1.0)
    session.progress.after_step(ctx, step, 1.0)
    (job,) = _pending(session)
    assert (job.kind, job.reason) == (CallbackKind.FAILURE, CallbackReason.TASK_FAILURE)
    # the run's end is in the same batch
    assert ["H", session.keys.run("d", "r"), "state", "failed"] in session.outbox.batch.ops


def test_no_job_for_a_dag_without_the_callback() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": []}), has_on_failure_callback=True)
    key = TIKey("a", -1)
    ctx.machine.task_started(key, 1)
    session.progress.after_step(
        ctx, ctx.machine.task_finished(key, TaskOutcome(S.SUCCESS, 1), 1.0), 1.0
    )
    assert ctx.state.value == "success"
    assert _pending(session) == []


@pytest.mark.parametrize(("whole_run", "fired"), [(True, False), (False, True)])
async def test_marking_the_whole_run_fires_no_callback_as_in_airflow(
    whole_run: bool, fired: bool
) -> None:
    """Airflow's PATCH of a run (set_dag_run_state_to_failed) calls listeners, not the DAG's
    callbacks; a run that fails because an instance was marked failed calls them."""
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": []}), has_on_failure_callback=True)
    await session.events.mark(ctx.ref, [(TIKey("a", -1), S.FAILED)], whole_run)
    assert ctx.state.value == "failed"
    assert len(_pending(session)) == (1 if fired else 0)


async def test_a_timed_out_run_gives_the_reason_timed_out() -> None:
    session = offline_session()
    ctx = add_run(
        session, "d", "r", graph({"a": []}), dagrun_timeout_s=60, has_on_failure_callback=True
    )
    session.timeouts.run_activated(ctx, resumed=False, now_s=0.0)
    await session.timeouts.periodic(60.0)
    (job,) = _pending(session)
    assert job.reason is CallbackReason.TIMED_OUT


def test_the_last_instance_is_airflows_natural_order_of_task_ids() -> None:
    tis = [
        LastTI("task_9", -1, 1, 0, "success"),
        LastTI("task_10", -1, 1, 0, "failed"),
        LastTI("zz", -1, 0, 0, "removed"),
        LastTI("task_10", 2, 1, 0, "success"),
    ]
    assert last_ti(tis) == LastTI("task_10", 2, 1, 0, "success")
    assert last_ti([LastTI("a", -1, 0, 0, "removed")]) is None


def _dag(**callbacks: Any) -> DAG:
    with DAG("cbs", schedule=None, start_date=WHEN, **callbacks) as dag:
        EmptyOperator(task_id="first") >> PythonOperator(task_id="second", python_callable=print)
    return dag


def _run() -> RunInfo:
    return RunInfo("cbs", "manual__x", WHEN, WHEN, WHEN, {"k": 1}, "manual", WHEN)


def test_the_context_is_the_last_instances_with_the_reason() -> None:
    dag = _dag()
    last = LastTI("second", -1, 2, 1, "failed")
    context = callback_context(dag, _run(), last, "task_failure", InMemoryXComs())
    assert context["reason"] == "task_failure"
    assert context["dag"] is dag
    assert context["run_id"] == "manual__x"
    assert context["ti"].task_id == "second"
    assert context["ti"].try_number == 2
    assert context["ti"].state == "failed"
    assert context["task"].task_id == "second"
    assert context["dag_run"].conf == {"k": 1}
    assert context["ds"] == "2026-01-02"
    assert {"logical_date", "params", "data_interval_start", "macros"} <= set(context)


def test_a_run_without_instances_gets_dag_run_id_and_reason() -> None:
    context = callback_context(_dag(), _run(), None, "success", InMemoryXComs())
    assert set(context) == {"dag", "run_id", "reason"}


def test_callbacks_are_called_in_order_and_one_that_raises_does_not_stop_the_next() -> None:
    calls: list[str] = []

    def first(context: Any) -> None:
        calls.append("first")
        raise ValueError("nope")

    def second(context: Any) -> None:
        calls.append(context["reason"])

    dag = _dag(on_failure_callback=[first, second], on_success_callback=second)
    assert dag_callbacks(dag, success=True) == [second]
    lines: list[str] = []
    results = run_callbacks(dag_callbacks(dag, success=False), {"reason": "r"}, lines.append)
    assert calls == ["first", "r"]
    assert results.errors == ("DAG callback first failed: ValueError: nope",)
    assert results.done == (1,)
    # a retry calls only those an earlier try did not deliver
    again = run_callbacks(
        dag_callbacks(dag, success=False), {"reason": "r"}, lines.append, skip=frozenset({1})
    )
    assert calls == ["first", "r", "first"]
    assert again.done == ()
    assert any("first failed" in line for line in lines)
    assert dag_callbacks(_dag(), success=False) == []


def test_a_notifier_like_object_and_a_coroutine_function_are_called() -> None:
    seen: list[Any] = []

    class Notifier:
        def notify(self, context: Any) -> None:
            seen.append(("notify", context["reason"]))

    async def coroutine(context: Any) -> None:
        seen.append(("async", context["reason"]))

    call_callback(Notifier(), {"reason": "success"})
    call_callback(coroutine, {"reason": "success"})
    assert seen == [("notify", "success"), ("async", "success")]


def test_the_api_streams_the_callback_event_with_its_run() -> None:
    from airlane.api.event_format import event_payload, wanted

    fields = CallbackEvent("d", "r", "on_success_callback", CallbackOutcome.DONE, 1).to_fields()
    data = event_payload("1700000000000-0", dict(fields))
    assert data["kind"] == "callback"
    assert (data["dag_id"], data["run_id"], data["outcome"], data["tries"]) == ("d", "r", "done", 1)
    assert wanted(data, "d", "r", kinds=frozenset({"callback"}))


def test_the_callbacks_role_finds_its_own_virtualenv(tmp_path: Any) -> None:
    import importlib.util

    from airlane.cli.common import CliError
    from airlane.cli.services import _callbacks_python
    from airlane.config import Settings

    if importlib.util.find_spec("arq") is not None:
        pytest.skip("arq is installed here: the role runs in this interpreter")
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    assert _callbacks_python(Settings(callbacks_python=str(python))) == str(python)
    missing = Settings(callbacks_python=str(tmp_path / "none"))
    if _callbacks_python_default_exists():
        return
    with pytest.raises(CliError, match="arq"):
        _callbacks_python(missing)


def _callbacks_python_default_exists() -> bool:
    import os
    import sys
    from pathlib import Path

    return os.access(Path(sys.prefix).parent / ".venv-callbacks" / "bin" / "python", os.X_OK)
