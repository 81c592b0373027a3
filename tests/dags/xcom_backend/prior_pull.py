"""Pulls from earlier runs and from another run by id (Airflow 3.3's ``xcom_pull`` with
``include_prior_dates`` and ``run_id``; results recorded with real Airflow 3.3.2's ``dags
test``: every earlier run's value, a list once there are several; with ``map_indexes`` the
newest run's)."""

import json
import os
from pathlib import Path

from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def produce(ds):
    return ds


def consume(ti, dag_run):
    first_run = dag_run.conf.get("first_run")
    pulled = {
        "all": ti.xcom_pull(task_ids="produce", include_prior_dates=True),
        "newest": ti.xcom_pull(task_ids="produce", include_prior_dates=True, map_indexes=-1),
        "first_run": first_run and ti.xcom_pull(task_ids="produce", run_id=first_run),
        "other_dag": ti.xcom_pull(task_ids="produce", dag_id="nowhere", include_prior_dates=True),
    }
    print("PULLED", json.dumps(pulled))
    marker = os.environ.get("XCOM_PULLS")
    if marker:
        with Path(marker).open("a") as out:
            out.write(json.dumps(pulled) + "\n")


with DAG("prior_pull", schedule=None) as dag:
    PythonOperator(task_id="produce", python_callable=produce) >> PythonOperator(
        task_id="consume", python_callable=consume
    )
