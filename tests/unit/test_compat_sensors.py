"""BashSensor, PythonSensor, TimeSensor and DayOfWeekSensor from Airflow's paths (Airflow 3.1's
example_sensors imports them), with Airflow's end states."""

from __future__ import annotations

import datetime as dt

import pendulum

from airlane import DAG
from airlane.dag_loader import airflow_compat


def test_the_sensors_poke_as_airflows() -> None:
    airflow_compat.install()
    from airflow.providers.standard.sensors.bash import BashSensor
    from airflow.providers.standard.sensors.python import PythonSensor
    from airflow.providers.standard.sensors.time import TimeSensor
    from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
    from airflow.providers.standard.utils.weekday import WeekDay
    from airflow.sdk import PokeReturnValue

    every_day = set(WeekDay)
    start = pendulum.datetime(2021, 1, 1, tz="UTC")
    with DAG("sensors", schedule=None, start_date=start) as dag:
        BashSensor(task_id="bash_ok", bash_command="echo hi; exit 0")
        BashSensor(task_id="bash_bad_code", bash_command="exit 3", retry_exit_code=1)
        BashSensor(
            task_id="bash_soft", bash_command="exit 1", timeout=0, poke_interval=0, soft_fail=True
        )
        PythonSensor(task_id="py_true", python_callable=lambda: True)
        PythonSensor(
            task_id="py_value",
            python_callable=lambda ds: PokeReturnValue(True, ds),
        )
        TimeSensor(task_id="after_midnight", target_time=dt.time(0, 0))
        DayOfWeekSensor(task_id="any_day", week_day=every_day)
        DayOfWeekSensor(task_id="logical_day", week_day="Wednesday", use_task_logical_date=True)
    result = dag.test(logical_date=pendulum.datetime(2025, 1, 1, tz="UTC"))  # a Wednesday
    assert {k: v["state"] for k, v in result.tasks.items()} == {
        "bash_ok": "success",
        "bash_bad_code": "failed",
        "bash_soft": "skipped",
        "py_true": "success",
        "py_value": "success",
        "after_midnight": "success",
        "any_day": "success",
        "logical_day": "success",
    }


def test_soft_fail_and_never_fail_together_are_refused_as_in_airflow() -> None:
    import pytest

    from airlane.sdk.sensors.python import PythonSensor

    with pytest.raises(ValueError, match="soft_fail and never_fail are mutually exclusive"):
        PythonSensor(task_id="both", python_callable=bool, soft_fail=True, never_fail=True)
