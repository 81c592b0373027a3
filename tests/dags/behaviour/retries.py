"""Retries: flaky tasks recover, exhausted retries fail, AirflowFailException skips retries,
execution_timeout kills a bash command."""

from datetime import timedelta

from airflow import DAG
from airflow.exceptions import AirflowFailException
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def flaky(ti):
    if ti.try_number < 3:
        raise RuntimeError(f"transient error on try {ti.try_number}")
    return ti.try_number


def always_fails():
    raise RuntimeError("broken for good")


def give_up():
    raise AirflowFailException("no point retrying")


EXPECTED = {
    "dag_id": "retries_behaviour",
    "state": "failed",
    "tasks": {
        "flaky": ["success", 3], "after_flaky": "success",
        "exhausted": ["failed", 2], "after_exhausted": "upstream_failed",
        "fail_fast": ["failed", 1], "backoff": ["failed", 3],
        "too_slow": ["failed", 1], "bash_flaky": ["success", 2],
    },
}

with DAG(
    "retries_behaviour",
    schedule=None,
    default_args={"retry_delay": timedelta(seconds=0.1)},
) as dag:
    PythonOperator(task_id="flaky", python_callable=flaky, retries=2) >> PythonOperator(
        task_id="after_flaky", python_callable=lambda ti: ti.xcom_pull("flaky") == 3 or 1 / 0
    )
    PythonOperator(task_id="exhausted", python_callable=always_fails, retries=1) >> PythonOperator(
        task_id="after_exhausted", python_callable=lambda: None
    )
    PythonOperator(task_id="fail_fast", python_callable=give_up, retries=3)
    PythonOperator(
        task_id="backoff",
        python_callable=always_fails,
        retries=2,
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(seconds=0.3),
    )
    BashOperator(task_id="too_slow", bash_command="sleep 30", execution_timeout=timedelta(seconds=0.5))
    BashOperator(
        task_id="bash_flaky",
        bash_command='[ "{{ ti.try_number }}" -ge 2 ] || { echo "try {{ ti.try_number }} fails"; exit 1; }',
        retries=1,
    )
