"""The common-io provider's object storage XCom backend ([core] xcom_backend): values over the
threshold go to files under [common.io] xcom_objectstorage_path, the stored XCom is the file's
path; a retry purges what the failed try stored."""

import os
from datetime import timedelta
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator

BIG = {"rows": list(range(200))}


def produce():
    return BIG


def small():
    return "tiny"


def flaky_big(ti):
    if ti.try_number == 1:
        ti.xcom_push(key="partial", value={"rows": list(range(300))})
        raise RuntimeError("try 1 fails after pushing a large value")
    return "done"


def files():
    root = Path(os.environ["XCOM_FILES"])
    return sorted(p.relative_to(root).parts[2] for p in root.rglob("*") if p.is_file())


def consume(ti):
    assert ti.xcom_pull(task_ids="produce") == BIG
    assert ti.xcom_pull(task_ids="small") == "tiny"
    assert ti.xcom_pull(task_ids="flaky_big", key="partial") is None
    assert ti.xcom_pull(task_ids="flaky_big") == "done"
    found = files()
    print("FILES", found)
    assert found == ["produce"], found


EXPECTED = {
    "dag_id": "xcom_object_storage",
    "state": "success",
    "tasks": {"produce": "success", "small": "success", "flaky_big": ["success", 2], "consume": "success"},
}

with DAG("xcom_object_storage", schedule=None, default_args={"retry_delay": timedelta(seconds=0.1)}) as dag:
    [
        PythonOperator(task_id="produce", python_callable=produce),
        PythonOperator(task_id="small", python_callable=small),
        PythonOperator(task_id="flaky_big", python_callable=flaky_big, retries=1),
    ] >> PythonOperator(task_id="consume", python_callable=consume)
