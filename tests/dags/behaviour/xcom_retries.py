"""XComs of an earlier try are gone when the next try starts (Airflow clears a task
instance's XComs at the start of each try): a retry that pushes nothing leaves nothing."""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator


def pushes_then_fails(ti):
    if ti.try_number == 1:
        ti.xcom_push(key="partial", value="from try 1")
        raise RuntimeError("try 1 fails after pushing")
    return f"try {ti.try_number}"


def check(ti):
    partial = ti.xcom_pull(task_ids="flaky_push", key="partial")
    result = ti.xcom_pull(task_ids="flaky_push")
    print(f"partial={partial!r} result={result!r}")
    assert partial is None, partial
    assert result == "try 2", result


EXPECTED = {
    "dag_id": "xcom_retries_behaviour",
    "state": "success",
    "tasks": {"flaky_push": ["success", 2], "check": "success"},
}

with DAG(
    "xcom_retries_behaviour",
    schedule=None,
    default_args={"retry_delay": timedelta(seconds=0.1)},
) as dag:
    PythonOperator(task_id="flaky_push", python_callable=pushes_then_fails, retries=1) >> PythonOperator(
        task_id="check", python_callable=check
    )
