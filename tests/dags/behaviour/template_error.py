"""An undefined template variable fails the task and names the variable."""

from airflow import DAG
from airflow.operators.bash import BashOperator

EXPECTED = {
    "dag_id": "template_error",
    "state": "failed",
    "tasks": {"undefined": ["failed", 1]},
    "logs": ["'nope' is undefined"],
}

with DAG("template_error", schedule=None, default_args={"retries": 0}) as dag:
    BashOperator(task_id="undefined", bash_command="echo {{ nope }}")
