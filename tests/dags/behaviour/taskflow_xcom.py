"""XCom between tasks: TaskFlow returns, multiple_outputs, xcom_pull, bash last line, templates."""

import pendulum
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.sdk import dag, task

EXPECTED = {
    "dag_id": "taskflow_xcom",
    "state": "success",
    "tasks": {
        "make": "success", "split": "success", "use_parts": "success", "pusher": "success",
        "puller": "success", "bash_out": "success", "bash_in": "success", "templated": "success",
        "make__1": "success", "renamed": "success",
    },
}


def must_equal(value, expected):
    if value != expected:
        raise AssertionError(f"{value!r} != {expected!r}")


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1))
def taskflow_xcom():
    @task
    def make(n: int = 3):
        return {"a": n, "b": n * 2}

    @task
    def split(d: dict) -> dict[str, int]:
        return {"left": d["a"], "right": d["b"]}

    @task
    def use_parts(left, right, ti=None):
        must_equal((left, right), (3, 6))
        must_equal(ti.xcom_pull(task_ids="split", key="left"), 3)

    parts = split(make())
    use_parts(parts["left"], parts["right"])

    def push(ti):
        ti.xcom_push(key="custom", value={"rows": 10})

    def pull(ti):
        must_equal(ti.xcom_pull(task_ids="pusher", key="custom"), {"rows": 10})

    PythonOperator(task_id="pusher", python_callable=push) >> PythonOperator(task_id="puller", python_callable=pull)

    bash_out = BashOperator(task_id="bash_out", bash_command="echo first; echo last-line")

    @task
    def bash_in(value):
        must_equal(value, "last-line")

    bash_in(bash_out.output)
    templated = BashOperator(
        task_id="templated",
        bash_command='test "{{ ti.xcom_pull(task_ids=\'bash_out\') }}" = last-line',
    )
    bash_out >> templated

    second = make(5)
    make.override(task_id="renamed")(7) >> second


taskflow_xcom()
