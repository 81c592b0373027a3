"""An Airflow 2.x DAG file, unmodified: classic operators, TaskFlow decorators, helpers."""

from datetime import datetime, timedelta

import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.models import Variable
from airflow.models.baseoperator import chain
from airflow.operators.bash import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.python import PythonOperator, get_current_context
from airflow.utils.dates import days_ago
from airflow.utils.edgemodifier import Label
from airflow.utils.task_group import TaskGroup
from airflow.utils.trigger_rule import TriggerRule

assert days_ago(1) < pendulum.now("UTC")
THRESHOLD = Variable.get("compat_threshold", default_var="10")


def report(**context):
    assert context["ds"] == context["logical_date"].strftime("%Y-%m-%d")
    assert get_current_context()["ti"].task_id == "work.report"
    return int(THRESHOLD)


with DAG(
    dag_id="airflow2_style",
    default_args={"owner": "airflow", "retries": 1, "retry_delay": timedelta(minutes=5)},
    schedule_interval="@daily",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    tags=["compat"],
) as dag:
    begin = DummyOperator(task_id="begin")
    with TaskGroup("work") as work:
        hello = BashOperator(task_id="hello", bash_command="echo hello from {{ dag.dag_id }}")
        py = PythonOperator(task_id="report", python_callable=report)
        hello >> py

    @task
    def total(value):
        return value * 2

    finish = DummyOperator(task_id="finish", trigger_rule=TriggerRule.ALL_DONE)
    chain(begin, work, total(py.output), Label("done"), finish)
