"""What Airflow 2 DAG files may count on beyond Airflow's own modules: ``pytz`` (every Airflow 2
install has it; 2.5's example_sensors.py imports ``from pytz import UTC``) and Airflow 2's
``TimeSensorAsync`` (today at a time of day, in the DAG's timezone)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from airlane.dag_loader.importer import load_dags
from airlane.sdk.sensors.time_delta import TimeSensorAsync

DAG_FILE = """
import datetime
from pytz import UTC
from airflow import DAG
from airflow.sensors.time_sensor import TimeSensor, TimeSensorAsync

with DAG("pytz_dag", start_date=datetime.datetime(2021, 1, 1, tzinfo=UTC), schedule=None) as dag:
    TimeSensorAsync(task_id="at_time", target_time=datetime.time(3, 0))
"""


def test_an_airflow_2_file_importing_pytz_loads(tmp_path: Path) -> None:
    path = tmp_path / "pytz_dag.py"
    path.write_text(DAG_FILE)
    dags, errors = load_dags(str(path), str(tmp_path))
    assert not errors, errors
    (dag,) = dags
    assert dag.start_date is not None
    assert dag.start_date.utcoffset() is not None
    sensor = dag.get_task("at_time")
    assert isinstance(sensor, TimeSensorAsync)
    assert sensor.deferrable  # holds no worker slot while waiting: it defers
    assert sensor.target_datetime.time() == time(3, 0)
