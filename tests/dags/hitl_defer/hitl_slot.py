"""A question and another task on a worker of one slot: the question goes first (its
priority), defers, and the other task runs while it waits."""

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def _nothing() -> None:
    pass


with DAG("hitl_slot", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    HITLOperator(task_id="ask", subject="Go?", options=["yes", "no"], priority_weight=10)
    PythonOperator(task_id="other", python_callable=_nothing, priority_weight=1)
