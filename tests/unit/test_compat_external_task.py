"""ExternalTaskSensor / ExternalTaskMarker load from Airflow's paths without a warning; in
``dags test`` the sensor sees the runs the process drives (the DAG's own and those its
TriggerDagRunOperators start) and says so when it sees none, as Airflow's waits on a run that
does not exist until its timeout."""

from __future__ import annotations

import warnings
from datetime import datetime

import pytest

from airlane import DAG, EmptyOperator
from airlane.dag_loader import airflow_compat
from airlane.service.execution.local_runner import run_dag_object


def _imports() -> tuple[type, type, type, type]:
    airflow_compat.install()
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
    from airflow.providers.standard.sensors.external_task import (
        ExternalTaskMarker,
        ExternalTaskSensor,
    )
    from airflow.sensors.external_task import ExternalTaskSensor as Airflow2Sensor

    assert Airflow2Sensor is ExternalTaskSensor
    return ExternalTaskMarker, ExternalTaskSensor, TriggerDagRunOperator, Airflow2Sensor


def test_the_marker_loads_without_a_warning_and_completes() -> None:
    marker_cls, sensor_cls, *_ = _imports()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with DAG("external", schedule=None) as dag:
            marker_cls(task_id="marker", external_dag_id="child", external_task_id="child_task")
    result = dag.test()
    assert {k: v["state"] for k, v in result.tasks.items()} == {"marker": "success"}
    with pytest.raises(ValueError, match="Only one of"):
        sensor_cls(
            task_id="both", external_dag_id="c", external_task_id="a", external_task_ids=["b"]
        )


def test_dags_test_sees_the_run_its_trigger_starts() -> None:
    _, sensor_cls, trigger_cls, _ = _imports()
    with DAG("ext_local_child", schedule=None) as child:
        EmptyOperator(task_id="child_task")
    with DAG("ext_local_parent", schedule=None) as parent:
        sensor = sensor_cls(
            task_id="sensor",
            external_dag_id="ext_local_child",
            external_task_id="child_task",
            poke_interval=0.05,
            timeout=30,
        )
        trigger = trigger_cls(
            task_id="trigger",
            trigger_dag_id="ext_local_child",
            logical_date="{{ logical_date }}",
        )
        [sensor, trigger] >> EmptyOperator(task_id="end")
    dags = {d.dag_id: d for d in (child, parent)}
    lines: list[str] = []
    result = run_dag_object(
        parent,
        logical_date=datetime(2025, 1, 1),
        lookup=dags.get,
        sink=lambda label, line: lines.append(line),
    )
    states = {k: v["state"] for k, v in result.tasks.items()}
    assert states == {"sensor": "success", "trigger": "success", "end": "success"}


def test_dags_test_says_it_sees_no_run_and_the_sensor_times_out() -> None:
    _, sensor_cls, *_ = _imports()
    with DAG("ext_lonely", schedule=None) as dag:
        sensor_cls(
            task_id="sensor",
            external_dag_id="elsewhere",
            poke_interval=0.05,
            timeout=0.3,
        )
    lines: list[str] = []
    result = run_dag_object(dag, sink=lambda label, line: lines.append(line))
    assert result.tasks["sensor"]["state"] == "failed"
    told = [line for line in lines if "No run of 'elsewhere' here" in line]
    assert len(told) == 1, lines
    assert any("AirflowSensorTimeout" in line for line in lines)


def test_airflows_sensor_errors_import_from_their_module() -> None:
    airflow_compat.install()
    from airflow.exceptions import AirflowException
    from airflow.providers.standard.exceptions import (
        DuplicateStateError,
        ExternalTaskFailedError,
    )

    assert issubclass(ExternalTaskFailedError, AirflowException)
    assert issubclass(DuplicateStateError, AirflowException)
