"""For the UI tests: `flaky` fails until the marker file exists; `after` runs once it passes."""

import os
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

MARKER = os.path.join(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"), "ui_flaky_fixed")

with DAG("ui_flaky", start_date=datetime(2024, 1, 1), schedule=None, tags=["ui"]) as dag:
    flaky = BashOperator(
        task_id="flaky",
        bash_command=f'echo "checking {{{{ ds }}}}"; test -f {MARKER} || {{ echo "not fixed yet"; exit 1; }}',
    )
    after = BashOperator(task_id="after", bash_command='echo "after the fix"')
    flaky >> after
