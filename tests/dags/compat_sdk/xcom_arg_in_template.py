"""An XComArg put in a templated string renders as its value (Airflow's example_xcom)."""

import pendulum

from airflow.models.xcom_arg import XComArg
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

EXPECTED_LINES = [
    "[bash_pull] manual=manually_pushed_value returned=value_by_return",
    "[taskflow_pull] from taskflow: 42",
]


@task
def answer():
    return 42


with DAG(
    "xcom_arg_in_template",
    schedule=None,
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
) as dag:
    bash_push = BashOperator(
        task_id="bash_push",
        bash_command='echo "{{ ti.xcom_push(key="manually_pushed_value", value="manually_pushed_value") }}"'
        ' && echo "value_by_return"',
    )
    bash_pull = BashOperator(
        task_id="bash_pull",
        bash_command=f'echo "manual={XComArg(bash_push, key="manually_pushed_value")} '
        f'returned={XComArg(bash_push)}"',
        do_xcom_push=False,
    )
    bash_push >> bash_pull
    value = answer()
    value >> BashOperator(task_id="taskflow_pull", bash_command=f"echo from taskflow: {value}")
