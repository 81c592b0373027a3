"""Runs on weekdays only, through the plugin's timetable; catchup over a short past range."""

from __future__ import annotations

import pendulum
from weekdays import AfterWeekdayTimetable

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    dag_id="weekday_runs",
    schedule=AfterWeekdayTimetable(hour=6),
    start_date=pendulum.datetime(2024, 1, 4, tz="UTC"),  # a Thursday
    end_date=pendulum.datetime(2024, 1, 9, 12, tz="UTC"),  # the next Tuesday
    catchup=True,
    is_paused_upon_creation=False,
):
    EmptyOperator(task_id="work")

with DAG(
    dag_id="weekday_next",
    schedule=AfterWeekdayTimetable(),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
):
    EmptyOperator(task_id="work")
