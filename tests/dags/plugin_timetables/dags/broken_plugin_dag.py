"""Uses the timetable of a plugin file that fails to import."""

from __future__ import annotations

import pendulum
from broken_timetable import NeverTimetable

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    dag_id="broken_plugin_dag", schedule=NeverTimetable(), start_date=pendulum.datetime(2024, 1, 1)
):
    EmptyOperator(task_id="work")
