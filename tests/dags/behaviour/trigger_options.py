"""TriggerDagRunOperator's Airflow 3 options: ``fail_when_dag_is_paused`` fails the task when
the DAG to trigger is paused (DagIsPaused), ``note`` goes on the triggered run, and a run
triggered with a ``run_after`` still to come is created (the task succeeds) but stays queued
until then; a DAG whose ``allowed_run_types`` leaves out operator-triggered runs fails the task
(Airflow 3.3.2's ``dags test`` ends these tasks so)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

EXPECTED = {
    "dag_id": "trigger_options_behaviour",
    "state": "failed",
    "tasks": {
        "paused_fails": "failed",
        "paused_ok": "success",
        "open_noted": "success",
        "later": "success",
        "kind_denied": "failed",
    },
    "logs": ["DagIsPaused: Dag trigger_options_paused is paused"],
}

with DAG("trigger_options_paused", schedule=None, is_paused_upon_creation=True):
    EmptyOperator(task_id="noop")

with DAG("trigger_options_open", schedule=None, is_paused_upon_creation=False):
    EmptyOperator(task_id="noop")

with DAG(
    "trigger_options_manual_only",
    schedule=None,
    is_paused_upon_creation=False,
    allowed_run_types=["manual"],
):
    EmptyOperator(task_id="noop")

with DAG("trigger_options_behaviour", schedule=None, start_date=datetime(2026, 1, 1)):
    TriggerDagRunOperator(
        task_id="paused_fails",
        trigger_dag_id="trigger_options_paused",
        fail_when_dag_is_paused=True,
    )
    TriggerDagRunOperator(task_id="paused_ok", trigger_dag_id="trigger_options_paused")
    TriggerDagRunOperator(
        task_id="open_noted",
        trigger_dag_id="trigger_options_open",
        trigger_run_id="{{ run_id }}__noted",
        fail_when_dag_is_paused=True,
        note="triggered by open_noted",
    )
    TriggerDagRunOperator(
        task_id="later",
        trigger_dag_id="trigger_options_open",
        trigger_run_id="{{ run_id }}__later",
        run_after="2999-01-01T00:00:00+00:00",
    )
    TriggerDagRunOperator(task_id="kind_denied", trigger_dag_id="trigger_options_manual_only")
