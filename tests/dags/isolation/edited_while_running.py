"""A DAG whose first task waits on a gate while the test rewrites this file."""

import os
import time
from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def wait_for_gate(run_id):
    open(os.path.join(MARKERS, f"{run_id}.waiting"), "w").close()
    while not os.path.exists(os.path.join(MARKERS, f"{run_id}.gate")):
        time.sleep(0.05)


with DAG(
    "edited_while_running",
    schedule=None,
    default_args={"retries": 1, "retry_delay": timedelta(0)},
) as edited:
    PythonOperator(task_id="gate", python_callable=wait_for_gate) >> PythonOperator(
        task_id="after", python_callable=lambda: "after"
    )
