"""Dynamic task mapping: one task instance per file found at run time."""

from datetime import datetime

from airflow.decorators import dag, task
from airflow.operators.bash import BashOperator


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["example", "mapping"])
def mapped_files():
    @task
    def list_files() -> list:
        return [f"part-{i:03d}.csv" for i in range(5)]

    @task
    def count_rows(name: str, multiplier: int) -> int:
        return int(name[5:8]) * multiplier

    @task
    def total(counts) -> int:
        return sum(counts)

    counts = count_rows.partial(multiplier=10).expand(name=list_files())
    total(counts)

    BashOperator.partial(task_id="echo_region", retries=1).expand(
        bash_command=["echo north", "echo south", "echo east"]
    )


mapped_files()
