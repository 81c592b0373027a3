"""Short circuits: skip everything downstream, or only direct downstream (trigger rules decide)."""

from airflow.decorators import task
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import ShortCircuitOperator
from airflow.sdk import DAG

EXPECTED = {
    "dag_id": "short_circuit_behaviour",
    "state": "success",
    "tasks": {
        "stop_all": "success", "sc_child": "skipped", "sc_grandchild_all_done": "skipped",
        "stop_direct": "success", "direct_child": "skipped", "after_direct_all_done": "success",
        "go_on": "success", "continued": "success",
    },
}

with DAG("short_circuit_behaviour", schedule=None) as dag:
    stop_all = ShortCircuitOperator(task_id="stop_all", python_callable=lambda: [])
    sc_child = EmptyOperator(task_id="sc_child")
    stop_all >> sc_child >> EmptyOperator(task_id="sc_grandchild_all_done", trigger_rule="all_done")

    stop_direct = ShortCircuitOperator(
        task_id="stop_direct", python_callable=lambda: False, ignore_downstream_trigger_rules=False
    )
    direct_child = EmptyOperator(task_id="direct_child")
    stop_direct >> direct_child >> EmptyOperator(task_id="after_direct_all_done", trigger_rule="all_done")

    @task.short_circuit
    def go_on():
        return True

    go_on() >> EmptyOperator(task_id="continued")
