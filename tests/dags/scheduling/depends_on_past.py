"""depends_on_past: a run's instance waits for the previous run's; fails until allowed."""

import os
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator


def step():
    if not (Path(os.environ["AIRLANE_TEST_MARKERS"]) / "past-may-pass").exists():
        raise ValueError("not yet")


with DAG("depends_on_past", schedule=None) as dag:
    PythonOperator(task_id="step", python_callable=step, depends_on_past=True)
