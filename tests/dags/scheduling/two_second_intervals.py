"""Airflow 2 data-interval semantics, picked per DAG with its timetable class."""

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.timetables.interval import DeltaDataIntervalTimetable

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")

with DAG(
    "two_second_intervals",
    schedule=DeltaDataIntervalTimetable(timedelta(seconds=2)),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    is_paused_upon_creation=True,
) as dag:
    BashOperator(
        task_id="record",
        bash_command=(
            "echo '{{ logical_date.isoformat() }} {{ data_interval_start.isoformat() }} "
            "{{ data_interval_end.isoformat() }}' >> " + MARKERS + "/two_second_intervals.txt"
        ),
    )
