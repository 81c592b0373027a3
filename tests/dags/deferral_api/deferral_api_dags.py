"""DAGs for tests/integration/test_deferral_api.py: a sensor deferred for an hour, and an
ExternalTaskSensor deferred until another DAG's run at the same logical date succeeds; a sensor
deferred for an hour ahead of another task in a pool of one slot (``defer_one``, which the test
creates), and a one-task DAG the test runs to know the coordinator has gone past a deferral."""

from __future__ import annotations

from datetime import datetime, timedelta

from airlane import DAG
from airlane.sdk.operators.empty import EmptyOperator
from airlane.sdk.operators.python import PythonOperator
from airlane.sdk.sensors.external_task import ExternalTaskSensor
from airlane.sdk.sensors.time_delta import TimeDeltaSensor

with DAG("deferred_hour", start_date=datetime(2024, 1, 1), schedule=None):
    TimeDeltaSensor(task_id="wait", delta=timedelta(hours=1), deferrable=True)

with DAG("upstream_dag", start_date=datetime(2024, 1, 1), schedule=None):
    PythonOperator(task_id="work", python_callable=lambda: None) >> EmptyOperator(task_id="end")

with DAG("waits_on_upstream", start_date=datetime(2024, 1, 1), schedule=None):
    ExternalTaskSensor(
        task_id="wait_upstream",
        external_dag_id="upstream_dag",
        external_task_id="work",
        deferrable=True,
        poke_interval=0.1,
        timeout=60,
    )

with DAG("pool_deferred", start_date=datetime(2024, 1, 1), schedule=None):
    # the higher priority_weight: the sensor takes the pool's one slot first
    TimeDeltaSensor(
        task_id="wait",
        delta=timedelta(hours=1),
        deferrable=True,
        pool="defer_one",
        priority_weight=10,
    )
    PythonOperator(task_id="after", python_callable=lambda: None, pool="defer_one")

with DAG("pool_marker", start_date=datetime(2024, 1, 1), schedule=None):
    PythonOperator(task_id="mark", python_callable=lambda: None)
