"""One of two DAG files a fresh worker imports at the same moment (issue 13 item 10)."""

import time

from airflow import DAG
from airflow.operators.python import PythonOperator

with DAG("import_b", schedule=None) as dag:
    first = PythonOperator(task_id="first", python_callable=lambda: None)
    time.sleep(0.2)  # a slow import, inside the DAG's block: the other file's import runs meanwhile
    first >> PythonOperator(task_id="second", python_callable=lambda: None)
