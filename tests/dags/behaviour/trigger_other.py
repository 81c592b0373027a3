"""TriggerDagRunOperator starts another DAG of the folder and waits for it."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

EXPECTED = {
    "dag_id": "trigger_parent",
    "state": "success",
    "tasks": {"trigger": "success"},
}


def child_work(dag_run):
    assert dag_run.conf == {"source": "parent"}, dag_run.conf


with DAG("trigger_child", schedule=None) as child:
    PythonOperator(task_id="work", python_callable=child_work)

with DAG("trigger_parent", schedule=None) as parent:
    TriggerDagRunOperator(
        task_id="trigger",
        trigger_dag_id="trigger_child",
        conf={"source": "parent"},
        wait_for_completion=True,
        poke_interval=0.1,
    )
