"""TriggerDagRunOperator with reset_dag_run and wait_for_completion on a run that ended: the
run is cleared and runs again, and the task waits for that second end, not the first (no
EXPECTED: Airflow's ``dags test`` does not run the target, so its wait never ends there;
tests/integration/test_distributed_runs.py runs it)."""

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

TARGET = "trigger_reset_wait_target"
RUN_ID = "{{ run_id }}__target"

with DAG(TARGET, schedule=None):
    BashOperator(task_id="count", bash_command="sleep 0.3; echo counted")

with DAG("trigger_reset_wait", schedule=None):
    first = TriggerDagRunOperator(
        task_id="first",
        trigger_dag_id=TARGET,
        trigger_run_id=RUN_ID,
        wait_for_completion=True,
        poke_interval=0.1,
    )
    again = TriggerDagRunOperator(
        task_id="again",
        trigger_dag_id=TARGET,
        trigger_run_id=RUN_ID,
        reset_dag_run=True,
        wait_for_completion=True,
        poke_interval=0.1,
    )
    first >> again
