"""Tasks whose output passes the log limits the test sets (64 KiB a try, 4 KiB a line)."""

from airflow import DAG
from airflow.operators.python import PythonOperator


def chatty():
    for i in range(5000):
        print(f"line {i:05d} " + "x" * 100)


def one_huge_line():
    print("before")
    print("y" * 2_000_000)
    print("after")


with DAG("log_heavy", schedule=None) as dag:
    PythonOperator(task_id="chatty", python_callable=chatty)
    PythonOperator(task_id="huge", python_callable=one_huge_line)
    PythonOperator(task_id="quiet", python_callable=lambda: None)
