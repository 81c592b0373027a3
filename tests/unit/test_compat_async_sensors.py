"""Airflow 2's TimeDeltaSensorAsync / DateTimeSensorAsync: a poking equivalent (no triggerer)
in reschedule mode, with the deferring sensor's end state."""

from __future__ import annotations

import datetime as dt

import pendulum

from airlane import DAG
from airlane.dag_loader import airflow_compat


def test_the_async_time_sensors_load_from_airflow_2_paths_and_succeed() -> None:
    airflow_compat.install()
    from airflow.sensors.date_time import DateTimeSensorAsync
    from airflow.sensors.time_delta import TimeDeltaSensorAsync

    with DAG("async_sensors", schedule=None) as dag:
        wait = TimeDeltaSensorAsync(task_id="wait", delta=dt.timedelta(seconds=0))
        until = DateTimeSensorAsync(task_id="until", target_time="2020-01-01T00:00:00+00:00")
        wait >> until
    assert wait.mode == "reschedule"
    assert until.mode == "reschedule"
    result = dag.test(logical_date=pendulum.datetime(2025, 1, 1, tz="UTC"))
    assert {k: v["state"] for k, v in result.tasks.items()} == {
        "wait": "success",
        "until": "success",
    }
