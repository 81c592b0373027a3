"""Variables set through the API, read by a Python task and a templated Bash task."""

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def greet():
    print("greeting is", Variable.get("greeting"))


with DAG("api_variables", schedule=None) as dag:
    PythonOperator(task_id="python", python_callable=greet) >> BashOperator(
        task_id="bash", bash_command="echo templated {{ var.value.greeting }}"
    )
