"""Daily, for backfills: the load of every seventh day fails until the test allows it."""

import os
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator


def load(ds, logical_date):
    allowed = Path(os.environ["AIRLANE_TEST_MARKERS"]) / "daily-flaky-may-pass"
    if logical_date.day % 7 == 0 and not allowed.exists():
        raise ValueError(f"no data for {ds} yet")
    print("loaded", ds)


with DAG(
    "daily_flaky",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    is_paused_upon_creation=True,
) as dag:
    PythonOperator(task_id="load", python_callable=load)
