"""A DAG that allows scheduled runs only (Airflow 3.2's ``allowed_run_types``): the API refuses
its manual runs and backfills (tests/integration/test_api.py)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "run_types_scheduled_only",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    allowed_run_types=["scheduled"],
    is_paused_upon_creation=True,
):
    EmptyOperator(task_id="noop")
