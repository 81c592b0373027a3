"""Daily sales ETL in Airflow 2.x style: Bash extracts, Python transforms, Bash loads.

`validate_source` fails on its first try (a "transient" error) and succeeds on the retry,
showing retries with a short retry_delay.
"""

import csv
import json
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

WORK_DIR = "/tmp/airlane-examples/etl/{{ ds_nodash }}"

default_args = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(seconds=1),
}


def transform(ds, templates_dict, **_):
    source = os.path.join(templates_dict["work_dir"], "sales.csv")
    totals = {}
    with open(source, newline="") as handle:
        for row in csv.DictReader(handle):
            totals[row["region"]] = totals.get(row["region"], 0) + int(row["amount"])
    target = os.path.join(templates_dict["work_dir"], "totals.json")
    with open(target, "w") as handle:
        json.dump({"date": ds, "totals": totals}, handle)
    return totals


with DAG(
    dag_id="etl_bash_python",
    description="Extract sales with Bash, aggregate with Python, load with Bash",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args=default_args,
    tags=["example", "etl"],
) as dag:
    extract = BashOperator(
        task_id="extract",
        bash_command=(
            f"mkdir -p {WORK_DIR} && "
            f"printf 'region,amount\\nnorth,10\\nsouth,20\\nnorth,5\\n' > {WORK_DIR}/sales.csv && "
            f"wc -l < {WORK_DIR}/sales.csv"
        ),
    )
    validate_source = BashOperator(
        task_id="validate_source",
        bash_command=(
            'if [ "{{ ti.try_number }}" -lt 2 ]; then echo "source not ready yet"; exit 1; fi; '
            f"test -s {WORK_DIR}/sales.csv && echo valid"
        ),
    )
    aggregate = PythonOperator(
        task_id="aggregate",
        python_callable=transform,
        templates_dict={"work_dir": WORK_DIR},
    )
    load = BashOperator(
        task_id="load",
        bash_command=f"cat {WORK_DIR}/totals.json && echo loaded",
        env={"TARGET": "warehouse"},
        append_env=True,
    )

    extract >> validate_source >> aggregate >> load
