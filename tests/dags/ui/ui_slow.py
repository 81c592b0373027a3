"""For the UI tests: a task that writes a line, waits for the test's marker, then finishes."""

import os
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

MARKER = os.path.join(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"), "ui_slow_go")

with DAG("ui_slow", start_date=datetime(2024, 1, 1), schedule=None, tags=["ui"]) as dag:
    BashOperator(
        task_id="slow",
        bash_command=(
            'echo "first line"; for i in $(seq 1 600); do test -f '
            f'{MARKER} && break; sleep 0.05; done; echo "last line"'
        ),
    )
