"""For the UI tests: 500 tasks, most of them in task groups (the graph and the grid at size)."""

from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG("ui_wide", start_date=datetime(2024, 1, 1), schedule="@daily", tags=["ui"]) as dag:
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    for g in range(7):
        with TaskGroup(f"group_{g}") as group:
            previous = None
            for i in range(71):
                task = EmptyOperator(task_id=f"step_{i}")
                if previous is not None and i % 3:
                    previous >> task
                previous = task
        start >> group >> end
    end >> EmptyOperator(task_id="summary")
