"""Templates: date macros, params, conf passed as data (never rendered again), a .sh file."""

from datetime import datetime

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

EXPECTED = {
    "dag_id": "templates_behaviour",
    "state": "success",
    "logical_date": "2024-03-05T06:00:00+00:00",
    "conf": {"note": "{{ 7 * 7 }}", "limit": 5},
    "tasks": {
        "dates": "success", "params_and_conf": "success", "script": "success",
        "python_templates": "success",
    },
    "logs": ["ds=2024-03-05 nodash=20240305 plus3=2024-03-08", "note={{ 7 * 7 }} limit=5", "script sees 2024-03-05"],
}


def check(templates_dict, params, dag_run):
    assert templates_dict["when"] == "2024-03-05", templates_dict
    assert templates_dict["note"] == "{{ 7 * 7 }}", templates_dict
    assert params["limit"] == 5 and dag_run.conf["note"] == "{{ 7 * 7 }}"


with DAG(
    "templates_behaviour",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    params={"limit": Param(3, type="integer", minimum=1), "note": "default note"},
) as dag:
    BashOperator(
        task_id="dates",
        bash_command="echo ds={{ ds }} nodash={{ ds_nodash }} plus3={{ macros.ds_add(ds, 3) }}",
    )
    BashOperator(
        task_id="params_and_conf",
        bash_command="echo \"note={{ dag_run.conf['note'] }} limit={{ params.limit }}\"",
    )
    BashOperator(task_id="script", bash_command="scripts/show_date.sh", env={"DS": "{{ ds }}"})
    PythonOperator(
        task_id="python_templates",
        python_callable=check,
        templates_dict={"when": "{{ ds }}", "note": "{{ params.note }}"},
    )
