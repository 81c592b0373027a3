"""TriggerDagRunOperator with a run id that exists already: ``skip_when_already_exists`` skips
the task, ``reset_dag_run`` clears the run and runs it again, neither fails it (Airflow 3.3.2's
``dags test`` ends these tasks so)."""

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

TARGET = "trigger_existing_target"
RUN_ID = "{{ run_id }}__target"

EXPECTED = {
    "dag_id": "trigger_existing_behaviour",
    "state": "failed",
    "tasks": {
        "first": "success",
        "skip_existing": "skipped",
        "fail_existing": "failed",
        "reset_existing": "success",
    },
}

with DAG("trigger_existing_target", schedule=None):
    EmptyOperator(task_id="noop")

with DAG("trigger_existing_behaviour", schedule=None) as dag:
    first = TriggerDagRunOperator(task_id="first", trigger_dag_id=TARGET, trigger_run_id=RUN_ID)
    first >> [
        TriggerDagRunOperator(
            task_id="skip_existing",
            trigger_dag_id=TARGET,
            trigger_run_id=RUN_ID,
            skip_when_already_exists=True,
        ),
        TriggerDagRunOperator(task_id="fail_existing", trigger_dag_id=TARGET, trigger_run_id=RUN_ID),
        TriggerDagRunOperator(
            task_id="reset_existing", trigger_dag_id=TARGET, trigger_run_id=RUN_ID, reset_dag_run=True
        ),
    ]
