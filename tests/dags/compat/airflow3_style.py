"""An Airflow 3.x DAG file, unmodified: airflow.sdk and the standard provider's paths."""

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param, TriggerRule, task


def check(params):
    assert params["size"] == 3


with DAG(
    dag_id="airflow3_style",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris"),
    params={"size": Param(3, type="integer")},
) as dag:
    start = EmptyOperator(task_id="start")
    bash = BashOperator(task_id="bash", bash_command="echo size={{ params.size }}")
    py = PythonOperator(task_id="check", python_callable=check)

    @task.bash
    def generated() -> str:
        return "echo generated command"

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def end():
        return "end"

    start >> [bash, py] >> generated() >> end()
