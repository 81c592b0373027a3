"""DAGs for tests/integration/test_run_ids.py: a run id Airflow refuses, a task to hold a run
open while records are forged, and a quick DAG to show the coordinator still works."""

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("gated", schedule=None) as gated:
    # Runs until the test creates the run's marker file.
    BashOperator(
        task_id="wait",
        bash_command=(
            'while [ ! -e "$AIRLANE_TEST_MARKERS/{{ run_id }}.go" ]; do sleep 0.05; done; '
            "echo released"
        ),
    )

with DAG("bad_run_id", schedule=None) as bad_run_id:
    TriggerDagRunOperator(
        task_id="trigger", trigger_dag_id="gated", trigger_run_id="a|b", retries=0
    )

with DAG("quick", schedule=None) as quick:
    BashOperator(task_id="echo", bash_command="echo quick")
