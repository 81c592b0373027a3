"""An operator's execute called from another task's callable: it runs (Airflow warns), unless
the nested operator says allow_nested_operators=False (Airflow's ExecutorSafeguard raises);
the running task's own execute always runs (Airflow 3.3.2's ``dags test`` ends these so)."""

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def nests(allowed, **context):
    inner = BashOperator(
        task_id=f"inner_{allowed}", bash_command="echo nested", allow_nested_operators=allowed
    )
    return inner.execute(context)


EXPECTED = {
    "dag_id": "nested_operators_behaviour",
    "state": "failed",
    "tasks": {"nested_allowed": "success", "nested_refused": "failed", "own": "success"},
}

with DAG("nested_operators_behaviour", schedule=None) as dag:
    PythonOperator(task_id="nested_allowed", python_callable=nests, op_args=[True])
    PythonOperator(task_id="nested_refused", python_callable=nests, op_args=[False])
    BashOperator(task_id="own", bash_command="echo own", allow_nested_operators=False)
