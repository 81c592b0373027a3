"""Ten years of 10-second intervals to catch up: runs must be made as earlier ones finish."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(
    "catchup_decade",
    schedule=timedelta(seconds=10),
    start_date=datetime(2015, 1, 1),
    catchup=True,
    max_active_runs=2,
    is_paused_upon_creation=True,
) as dag:
    EmptyOperator(task_id="noop")
