"""An Airflow DAG whose second task fails until the test allows it (for clear and rerun)."""

import os
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator


def extract():
    print("extracted 42 rows")
    return 42


def load(ti):
    allowed = Path(os.environ["AIRLANE_TEST_MARKERS"]) / "load-may-pass"
    if not allowed.exists():
        raise ValueError("the warehouse is not ready yet")
    print("loaded", ti.xcom_pull(task_ids="extract"), "rows")


with DAG("api_flaky", schedule=None, tags=["api", "example"], description="clear me") as dag:
    PythonOperator(task_id="extract", python_callable=extract) >> PythonOperator(
        task_id="load", python_callable=load
    )
