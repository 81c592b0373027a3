"""Task groups (one inside another), two operators and a mapped task: instances for the task
instance listing's filters to tell apart (test_api.py)."""

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.task_group import TaskGroup


def double(number):
    return number * 2


with DAG(
    "api_listing",
    schedule=None,
    tags=["api"],
    dag_display_name="Listing DAG",
    default_args={"owner": "listing_owner"},
) as dag:
    with TaskGroup("outer"):
        first = EmptyOperator(task_id="first")
        with TaskGroup("inner"):
            deep = PythonOperator(task_id="deep", python_callable=double, op_args=[1])
    doubled = PythonOperator.partial(task_id="doubled", python_callable=double).expand(
        op_args=[[1], [2], [3]]
    )
    first >> deep >> doubled
