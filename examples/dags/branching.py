"""Branching on the logical date, a join that tolerates skipped branches, and a short circuit."""

from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from airflow.utils.trigger_rule import TriggerRule


def choose(logical_date, **_):
    return "weekend_report" if logical_date.weekday() >= 5 else "weekday_report"


with DAG(
    dag_id="branching",
    schedule="0 6 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example"],
) as dag:
    start = EmptyOperator(task_id="start")
    pick = BranchPythonOperator(task_id="pick_report", python_callable=choose)
    weekday = PythonOperator(task_id="weekday_report", python_callable=lambda: "weekday")
    weekend = PythonOperator(task_id="weekend_report", python_callable=lambda: "weekend")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    is_month_start = ShortCircuitOperator(
        task_id="is_month_start",
        python_callable=lambda ds: ds.endswith("-01"),
    )
    monthly = PythonOperator(task_id="monthly_rollup", python_callable=lambda: "rolled up")

    start >> pick >> [weekday, weekend] >> join >> is_month_start >> monthly
