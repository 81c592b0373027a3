"""Task groups: prefixed ids, edges to and from groups, nesting, group default_args."""

from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup, task_group

EXPECTED = {
    "dag_id": "task_groups",
    "state": "success",
    "tasks": {
        "start": "success", "extract.a": "success", "extract.b": "success",
        "extract.inner.c": "success", "check_retries": "success", "load.x": "success",
        "load.y": "success", "end": "success",
    },
}

with DAG("task_groups", schedule=None) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("extract", default_args={"retries": 4}) as extract:
        a = EmptyOperator(task_id="a")
        with TaskGroup("inner"):
            c = EmptyOperator(task_id="c")
        a >> [EmptyOperator(task_id="b"), c]

    def check_retries(dag):
        assert dag.get_task("extract.inner.c").retries == 4
        assert dag.get_task("start").retries == 0

    @task_group
    def load():
        EmptyOperator(task_id="x") >> EmptyOperator(task_id="y")

    start >> extract >> PythonOperator(task_id="check_retries", python_callable=check_retries) >> load() >> EmptyOperator(task_id="end")
