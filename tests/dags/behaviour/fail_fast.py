"""fail_fast (Airflow 2's fail_stop): bad fails for good while sibling runs: sibling fails (its
worker stops it), what had not run is skipped, and the run fails because a leaf (sibling)
failed; as in Airflow, had every leaf been skipped, the run would have succeeded."""

import hashlib
import os
import tempfile
import time

from airflow.models import DAG
from airflow.operators.python import PythonOperator

EXPECTED = {
    "dag_id": "fail_fast_behaviour",
    "state": "failed",
    "tasks": {
        "start": "success",
        "bad": "failed",
        "after_bad": "skipped",
        "sibling": "failed",
    },
}


def _started(run_id):
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"fail-fast-{digest}")


def sibling(run_id):
    open(_started(run_id), "w").close()
    time.sleep(5)


def bad(run_id):
    started = _started(run_id)
    deadline = time.monotonic() + 30
    while not os.path.exists(started) and time.monotonic() < deadline:
        time.sleep(0.02)
    raise ValueError("bad fails while sibling runs")


with DAG("fail_fast_behaviour", schedule=None, fail_fast=True) as dag:
    start = PythonOperator(task_id="start", python_callable=lambda: None)
    bad_task = PythonOperator(task_id="bad", python_callable=bad)
    sibling_task = PythonOperator(task_id="sibling", python_callable=sibling)
    start >> [bad_task, sibling_task]
    bad_task >> PythonOperator(task_id="after_bad", python_callable=lambda: None)
