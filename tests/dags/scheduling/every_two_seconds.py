"""Scheduled every 2 s, Airflow 3 semantics; its task records what the templates see."""

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")

with DAG(
    "every_two_seconds",
    schedule=timedelta(seconds=2),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    is_paused_upon_creation=True,
) as dag:
    BashOperator(
        task_id="record",
        bash_command=(
            "echo '{{ run_id }} {{ logical_date.isoformat() }} "
            "{{ data_interval_start.isoformat() }} {{ data_interval_end.isoformat() }}' >> "
            + MARKERS
            + "/every_two_seconds.txt"
        ),
    )
