"""A DAG with nothing custom: it keeps working whatever the plugins do."""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="plain_manual", schedule=None, is_paused_upon_creation=False):
    EmptyOperator(task_id="work")
