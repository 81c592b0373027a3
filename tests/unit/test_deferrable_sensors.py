"""The core sensors' deferrable paths decide as Airflow 3.1.8's standard provider does: when
they defer, on which trigger, with which timeout, and what their resumption makes of the event.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airlane import DAG
from airlane.sdk.decorators import task
from airlane.sdk.deferral import TRIGGER_FAIL_REPR
from airlane.sdk.exceptions import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from airlane.sdk.sensors.external_errors import ExternalDagFailedError
from airlane.sdk.sensors.external_task import ExternalTaskSensor
from airlane.sdk.sensors.filesystem import FileSensor
from airlane.sdk.sensors.python import PythonSensor
from airlane.sdk.sensors.time_delta import (
    DateTimeSensorAsync,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
    TimeSensor,
    TimeSensorAsync,
    WaitSensor,
)
from airlane.sdk.triggers.external_task import WorkflowTrigger
from airlane.sdk.triggers.file import FileTrigger
from airlane.sdk.triggers.temporal import DateTimeTrigger

#: a moment a day ahead: the sensors compare their targets with the clock when the test runs,
#: which may be minutes after this module was imported (a loaded machine, xdist)
NOW = pendulum.now("UTC").add(days=1)


def _deferral(sensor: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as raised:
        asyncio.run(sensor.aexecute(context))
    return raised.value


def test_time_delta_sensor_defers_until_interval_end_plus_delta_with_its_timeout() -> None:
    sensor = TimeDeltaSensor(
        task_id="w", delta=dt.timedelta(seconds=30), deferrable=True, timeout=90
    )
    deferred = _deferral(sensor, {"data_interval_end": NOW})
    assert isinstance(deferred.trigger, DateTimeTrigger)
    assert deferred.trigger.moment == NOW + dt.timedelta(seconds=30)
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == dt.timedelta(seconds=90)


def test_time_delta_sensor_past_its_moment_returns_true_without_deferring() -> None:
    sensor = TimeDeltaSensor(task_id="w", delta=dt.timedelta(seconds=1), deferrable=True)
    past = pendulum.now("UTC") - dt.timedelta(hours=1)
    assert asyncio.run(sensor.aexecute({"data_interval_end": past})) is True


def test_time_delta_sensor_takes_minutes_as_an_int_and_the_async_one_always_defers() -> None:
    sensor = TimeDeltaSensorAsync(task_id="w", delta=2)
    assert sensor.deferrable
    deferred = _deferral(sensor, {"data_interval_end": NOW})
    assert deferred.trigger.moment == NOW + dt.timedelta(minutes=2)


def test_date_time_sensor_async_defers_even_when_the_moment_has_passed() -> None:
    sensor = DateTimeSensorAsync(task_id="d", target_time="2020-01-01T00:00:00+00:00")
    deferred = _deferral(sensor, {})
    assert deferred.trigger.moment == pendulum.datetime(2020, 1, 1, tz="UTC")
    assert deferred.timeout is None


def test_date_time_sensor_async_start_from_trigger_fills_its_start_arguments() -> None:
    sensor = DateTimeSensorAsync(
        task_id="d", target_time="2030-01-01T00:00:00+00:00", start_from_trigger=True
    )
    assert sensor.start_from_trigger
    assert sensor.start_trigger_args is not None
    kwargs = sensor.start_trigger_args.trigger_kwargs or {}
    assert kwargs["moment"] == pendulum.datetime(2030, 1, 1, tz="UTC")
    assert DateTimeSensorAsync.start_trigger_args is not None  # the class's is left alone
    assert (DateTimeSensorAsync.start_trigger_args.trigger_kwargs or {})["moment"] == ""
    with pytest.warns(UserWarning, match="requires Airflow >= 3.3"):
        templated = DateTimeSensorAsync(
            task_id="t", target_time="{{ data_interval_end }}", start_from_trigger=True
        )
    assert not templated.start_from_trigger


def test_time_sensor_defers_on_its_target_datetime_when_deferrable() -> None:
    with DAG("time_sensor_defer", schedule=None):
        sensor = TimeSensor(task_id="t", target_time=dt.time(0, 0), deferrable=True)
        async_one = TimeSensorAsync(task_id="a", target_time=dt.time(0, 0))
    for one in (sensor, async_one):
        deferred = _deferral(one, {})
        assert deferred.trigger.moment == one.target_datetime
        assert deferred.timeout is None


def test_file_sensor_pokes_once_then_defers_on_a_file_trigger(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.csv")
    sensor = FileSensor(task_id="f", filepath=pattern, deferrable=True, poke_interval=3)
    deferred = _deferral(sensor, {})
    assert isinstance(deferred.trigger, FileTrigger)
    assert deferred.trigger.serialize()[1] == {
        "filepath": pattern,
        "recursive": False,
        "poke_interval": 3.0,
    }
    assert deferred.timeout == dt.timedelta(seconds=sensor.timeout_s)
    (tmp_path / "a.csv").write_text("x")
    assert asyncio.run(sensor.aexecute({})) is None  # found at the first poke: no deferral
    with pytest.raises(AirflowException, match=r"task failed as .* not found"):
        sensor.execute_complete({}, event=False)  # type: ignore[arg-type]


def test_external_task_sensor_defers_on_a_workflow_trigger_for_its_dates() -> None:
    sensor = ExternalTaskSensor(
        task_id="e",
        external_dag_id="other",
        external_task_id="t1",
        failed_states=["failed"],
        execution_delta=dt.timedelta(hours=1),
        deferrable=True,
        poke_interval=7,
        timeout=120,
    )
    deferred = _deferral(sensor, {"logical_date": NOW})
    assert isinstance(deferred.trigger, WorkflowTrigger)
    _, kwargs = deferred.trigger.serialize()
    assert kwargs["external_dag_id"] == "other"
    assert kwargs["external_task_ids"] == ["t1"]
    assert kwargs["allowed_states"] == ["success"]
    assert kwargs["failed_states"] == ["failed"]
    assert kwargs["logical_dates"] == [NOW - dt.timedelta(hours=1)]
    assert kwargs["poke_interval"] == 7.0
    assert deferred.timeout == dt.timedelta(seconds=120)


def test_external_task_sensor_resumption_reads_the_trigger_status() -> None:
    sensor = ExternalTaskSensor(task_id="e", external_dag_id="other", deferrable=True)
    context: Any = {"logical_date": NOW}
    sensor.execute_complete(context, {"status": "success"})
    with pytest.raises(AirflowSkipException):
        sensor.execute_complete(context, {"status": "skipped"})
    with pytest.raises(ExternalDagFailedError, match="External job has failed"):
        sensor.execute_complete(context, {"status": "failed"})
    soft = ExternalTaskSensor(task_id="s", external_dag_id="o", deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException, match="failed skipping"):
        soft.execute_complete(context, {"status": "failed"})


def test_a_trigger_timeout_fails_a_sensor_as_a_sensor_timeout_or_skips_it() -> None:
    timeout = {"error": "Trigger timeout"}
    sensor = TimeDeltaSensor(task_id="w", delta=dt.timedelta(seconds=1), deferrable=True)
    with pytest.raises(AirflowSensorTimeout, match="Trigger timeout"):
        sensor.resume_execution(TRIGGER_FAIL_REPR, timeout, {})  # type: ignore[arg-type]
    soft = TimeDeltaSensor(
        task_id="s", delta=dt.timedelta(seconds=1), deferrable=True, soft_fail=True
    )
    with pytest.raises(AirflowSkipException, match="soft_fail"):
        soft.resume_execution(TRIGGER_FAIL_REPR, timeout, {})  # type: ignore[arg-type]
    never = TimeDeltaSensor(
        task_id="n", delta=dt.timedelta(seconds=1), deferrable=True, never_fail=True
    )
    failure = {"error": "Trigger failure"}
    with pytest.raises(AirflowSkipException, match="never_fail"):
        never.resume_execution(TRIGGER_FAIL_REPR, failure, {})  # type: ignore[arg-type]
    assert sensor.resume_execution("execute_complete", {"event": None}, {}) is None  # type: ignore[arg-type]


def test_sensors_that_cannot_defer_refuse_deferrable_as_airflow_does() -> None:
    with pytest.raises(AirflowException, match="Invalid arguments"):
        PythonSensor(task_id="p", python_callable=lambda: True, deferrable=True)

    with DAG("sensor_decorator_defer", schedule=None):

        @task.sensor(poke_interval=1, deferrable=True)
        def ready() -> bool:
            return True

        with pytest.raises(AirflowException, match="Invalid arguments"):
            ready()


def test_wait_sensor_defers_on_a_trigger_that_ends_the_task() -> None:
    sensor = WaitSensor(task_id="w", time_to_wait=dt.timedelta(seconds=30), deferrable=True)
    before = pendulum.now("UTC")
    deferred = _deferral(sensor, {})
    assert isinstance(deferred.trigger, DateTimeTrigger)
    assert deferred.trigger.end_from_trigger
    assert deferred.trigger.moment >= before + dt.timedelta(seconds=30)
    assert WaitSensor(task_id="m", time_to_wait=2)._resolve_time_to_wait() == dt.timedelta(
        minutes=2
    )


def _dags_test_states(parent: Any, *others: Any) -> dict[str, str]:
    from airlane.service.execution.local_runner import run_dag_object

    dags = {d.dag_id: d for d in (parent, *others)}
    result = run_dag_object(
        parent, logical_date=dt.datetime(2025, 1, 1), lookup=dags.get, sink=lambda *_: None
    )
    return {k: v["state"] for k, v in result.tasks.items()}


def test_dags_test_defers_trigger_dag_run_and_external_task_sensor_until_the_other_run() -> None:
    from airlane.sdk.operators.empty import EmptyOperator
    from airlane.sdk.operators.python import PythonOperator
    from airlane.sdk.operators.trigger_dagrun import TriggerDagRunOperator

    def fail() -> None:
        raise ValueError("child failed")

    with DAG("deferred_child_ok", schedule=None) as ok:
        EmptyOperator(task_id="child_task")
    with DAG("deferred_child_bad", schedule=None) as bad:
        PythonOperator(task_id="child_task", python_callable=fail)
    with DAG("deferred_parent", schedule=None) as parent:
        for child in (ok, bad):
            TriggerDagRunOperator(
                task_id=f"trigger_{child.dag_id}",
                trigger_dag_id=child.dag_id,
                logical_date="{{ logical_date }}",
                wait_for_completion=True,
                deferrable=True,
                poke_interval=0.05,
            )
        ExternalTaskSensor(
            task_id="sensor",
            external_dag_id="deferred_child_ok",
            external_task_id="child_task",
            deferrable=True,
            poke_interval=0.05,
            timeout=30,
        )
    assert _dags_test_states(parent, ok, bad) == {
        "trigger_deferred_child_ok": "success",
        "trigger_deferred_child_bad": "failed",
        "sensor": "success",
    }
