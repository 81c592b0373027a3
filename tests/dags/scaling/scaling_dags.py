"""Fan-outs for the scaling tests: short tasks to share out, longer ones to interrupt."""

import time

from airflow import DAG
from airflow.operators.python import PythonOperator


def work(seconds):
    time.sleep(seconds)


with DAG("scale_up_fan_out", schedule=None, max_active_tasks=2000) as up:
    root = PythonOperator(task_id="root", python_callable=work, op_args=[0])
    for i in range(2000):
        root >> PythonOperator(task_id=f"t{i:04d}", python_callable=work, op_args=[0.01])

with DAG("scale_down_fan_out", schedule=None, max_active_tasks=100) as down:
    root = PythonOperator(task_id="root", python_callable=work, op_args=[0])
    for i in range(100):
        root >> PythonOperator(task_id=f"t{i:03d}", python_callable=work, op_args=[2])
