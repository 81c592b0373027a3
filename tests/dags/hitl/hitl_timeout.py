"""Nobody answers: after one second the defaults are taken and the chosen branch runs."""

import datetime

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import HITLBranchOperator
from airflow.sdk import DAG

with DAG("hitl_timeout", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    pick = HITLBranchOperator(
        task_id="pick",
        subject="Which way?",
        options=["left", "right"],
        defaults="left",
        response_timeout=datetime.timedelta(seconds=1),
    )
    pick >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
