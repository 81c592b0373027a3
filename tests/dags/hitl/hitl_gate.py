"""One approval before one task: the UI test answers it."""

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG

with DAG("hitl_gate", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    gate = ApprovalOperator(task_id="gate", subject="Deploy?", body="Release **42**")
    gate >> EmptyOperator(task_id="deploy")
