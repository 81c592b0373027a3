"""Twelve short tasks in a line: a run long enough to drop a subscriber in the middle of."""

import time

from airflow import DAG
from airflow.operators.python import PythonOperator


def step():
    time.sleep(0.05)


with DAG("api_chain", schedule=None, tags=["api"]) as dag:
    previous = None
    for index in range(12):
        current = PythonOperator(task_id=f"step_{index:02d}", python_callable=step)
        if previous is not None:
            previous >> current
        previous = current
