"""A try that writes a line, waits for the test's marker, then writes another and ends."""

import os

from airflow import DAG
from airflow.operators.bash import BashOperator

MARKER = os.path.join(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"), "log_live_go")

with DAG("log_live", schedule=None) as dag:
    BashOperator(
        task_id="waits",
        bash_command=(
            'echo "first line"; for i in $(seq 1 1200); do test -f '
            f'{MARKER} && break; sleep 0.05; done; echo "last line"'
        ),
    )
