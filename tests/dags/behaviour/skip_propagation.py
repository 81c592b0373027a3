"""Skips spread through all_success, stop at none_failed; bash exit code 99 skips."""

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator


def skip_me():
    raise AirflowSkipException("nothing to do today")


EXPECTED = {
    "dag_id": "skip_propagation",
    "state": "success",
    "tasks": {
        "skipper": "skipped", "child": "skipped", "grandchild": "skipped",
        "tolerant": "success", "exit99": "skipped", "after_exit99": "skipped",
        "custom_skip_code": "skipped",
    },
}

with DAG("skip_propagation", schedule=None) as dag:
    skipper = PythonOperator(task_id="skipper", python_callable=skip_me)
    child = EmptyOperator(task_id="child")
    skipper >> child >> EmptyOperator(task_id="grandchild")
    skipper >> EmptyOperator(task_id="tolerant", trigger_rule="none_failed")
    BashOperator(task_id="exit99", bash_command="echo skipping; exit 99") >> EmptyOperator(task_id="after_exit99")
    BashOperator(task_id="custom_skip_code", bash_command="exit 3", skip_on_exit_code=[3])
