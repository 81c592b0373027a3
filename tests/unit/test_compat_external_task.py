"""ExternalTaskSensor / ExternalTaskMarker load from Airflow's paths; the sensor's try fails at
once with the reason (Airlane's tasks cannot read another DAG's runs yet), the marker completes
as an EmptyOperator and warns that clearing does not follow it into the other DAG."""

from __future__ import annotations

import pytest

from airlane import DAG, EmptyOperator
from airlane.dag_loader import airflow_compat


def test_the_sensor_fails_with_the_reason_and_the_marker_completes() -> None:
    airflow_compat.install()
    from airflow.providers.standard.sensors.external_task import (
        ExternalTaskMarker,
        ExternalTaskSensor,
    )
    from airflow.sensors.external_task import ExternalTaskSensor as Airflow2Sensor

    assert Airflow2Sensor is ExternalTaskSensor
    with DAG("external", schedule=None) as dag:
        with pytest.warns(UserWarning, match="does not clear child.child_task"):
            marker = ExternalTaskMarker(
                task_id="marker", external_dag_id="child", external_task_id="child_task"
            )
        sensor = ExternalTaskSensor(
            task_id="sensor", external_dag_id="child", external_task_id="child_task"
        )
        marker >> sensor >> EmptyOperator(task_id="end")
    assert sensor.external_task_ids == ["child_task"]
    result = dag.test()
    states = {k: v["state"] for k, v in result.tasks.items()}
    assert states == {"marker": "success", "sensor": "failed", "end": "upstream_failed"}
    with pytest.raises(ValueError, match="Only one of"):
        ExternalTaskSensor(
            task_id="both", external_dag_id="c", external_task_id="a", external_task_ids=["b"]
        )
