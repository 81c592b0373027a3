"""Branches: BranchPythonOperator, @task.branch with a list, a branch into a task group."""

from airflow.decorators import task
from airflow.models import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.utils.task_group import TaskGroup

EXPECTED = {
    "dag_id": "branching_behaviour",
    "state": "success",
    "tasks": {
        "pick": "success", "left": "success", "right": "skipped", "after_right": "skipped",
        "join": "success", "pick_many": "success", "a": "success", "b": "success", "c": "skipped",
        "pick_group": "success", "grp.one": "success", "grp.two": "success", "other": "skipped",
        "pick_none": "success", "never": "skipped",
    },
}

with DAG("branching_behaviour", schedule=None) as dag:
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
    left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
    after_right = EmptyOperator(task_id="after_right")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    pick >> [left, right]
    right >> after_right
    [left, after_right] >> join

    @task.branch
    def pick_many():
        return ["a", "b"]

    pick_many() >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b"), EmptyOperator(task_id="c")]

    pick_group = BranchPythonOperator(task_id="pick_group", python_callable=lambda: "grp")
    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="one") >> EmptyOperator(task_id="two")
    pick_group >> [grp, EmptyOperator(task_id="other")]

    pick_none = BranchPythonOperator(task_id="pick_none", python_callable=lambda: None)
    pick_none >> EmptyOperator(task_id="never")
