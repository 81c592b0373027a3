"""A run marked failed while its work runs: its teardown is left to run (Airflow's
set_dag_run_state_to_failed neither fails nor skips teardowns)."""

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

with DAG("teardown_after_mark", schedule=None) as dag:
    make = PythonOperator(task_id="make", python_callable=lambda: None).as_setup()
    work = BashOperator(task_id="work", bash_command="sleep 60")
    drop = PythonOperator(task_id="drop", python_callable=lambda: None)
    make >> work >> drop.as_teardown(setups=make)
