"""a >> b >> c >> d; c fails until the test allows it (clear in the middle of a chain)."""

import os
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator


def step(name):
    marker = Path(os.environ["AIRLANE_TEST_MARKERS"]) / "chain-c-may-pass"
    if name == "c" and not marker.exists():
        raise ValueError("c is not ready")
    print("ran", name)


with DAG("chain_to_clear", schedule=None) as dag:
    tasks = [PythonOperator(task_id=n, python_callable=step, op_args=[n]) for n in "abcd"]
    tasks[0] >> tasks[1] >> tasks[2] >> tasks[3]
