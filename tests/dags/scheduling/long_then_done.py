"""A long task to clear while it runs, and a quick one after it; plus a DAG that always fails."""

import os
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def boom():
    raise ValueError("always fails")


with DAG("long_then_done", schedule=None) as dag:
    BashOperator(
        task_id="long",
        bash_command=(
            "echo started >> " + MARKERS + "/long_then_done.txt; "
            "if [ -e " + MARKERS + "/long-may-finish ]; then exit 0; fi; sleep 60"
        ),
    ) >> BashOperator(task_id="after", bash_command="echo after")

with DAG("fails_thrice", schedule=None, max_consecutive_failed_dag_runs=3) as failing:
    PythonOperator(task_id="boom", python_callable=boom)
