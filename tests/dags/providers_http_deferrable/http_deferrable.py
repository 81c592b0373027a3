"""HttpOperator's deferrable path, unmodified from the provider: the request runs in the
triggerer (HttpTrigger), the task resumes in execute_complete with the response."""

from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.providers.http.operators.http import HttpOperator

with DAG(
    dag_id="http_deferrable",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    default_args={"retries": 0},
):
    HttpOperator(
        task_id="get_deferred",
        method="GET",
        endpoint="nested",
        deferrable=True,
        response_filter=lambda response: response.json()["nested"]["property"],
    )
