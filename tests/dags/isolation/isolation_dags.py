"""DAGs whose tasks misbehave: spin past their timeout, print a lot, get killed.

Marker files go to $AIRLANE_TEST_MARKERS (set by the tests).
"""

import os
import time
from datetime import timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def _mark(name, text):
    with open(os.path.join(MARKERS, name), "w") as handle:
        handle.write(text)


def spin(run_id):
    _mark(f"{run_id}.spin.pid", str(os.getpid()))
    while True:
        pass


with DAG("spins_past_timeout", schedule=None) as spins:
    PythonOperator(
        task_id="spin", python_callable=spin, execution_timeout=timedelta(seconds=1)
    ) >> PythonOperator(task_id="next", python_callable=lambda: "ran", trigger_rule="all_done")


def wait_to_be_killed(run_id, ti):
    if ti.try_number == 1:
        _mark(f"{run_id}.victim.pid", str(os.getpid()))
        time.sleep(120)


with DAG(
    "killed_mid_try", schedule=None, default_args={"retries": 1, "retry_delay": timedelta(0)}
) as killed:
    PythonOperator(task_id="victim", python_callable=wait_to_be_killed)



with DAG("quick", schedule=None) as quick:
    PythonOperator(task_id="hello", python_callable=lambda: "hello")

with DAG("heavy_output", schedule=None) as heavy:
    for i in range(4):
        # 100 MB each: lines of 50,000 characters, and one 4 MB line at the end.
        BashOperator(
            task_id=f"loud{i}",
            bash_command=(
                "head -c 100000000 /dev/zero | tr '\\0' y | fold -w 50000; "
                "head -c 4000000 /dev/zero | tr '\\0' z; echo"
            ),
        )

with DAG("long_line", schedule=None) as long_line:
    BashOperator(
        task_id="wide",
        bash_command="head -c 100000 /dev/zero | tr '\\0' x; echo; echo done",
    )


def hog():
    return len(bytearray(3 * 1024 * 1024 * 1024))


with DAG("memory_hog", schedule=None) as memory_hog:
    PythonOperator(task_id="hog", python_callable=hog)


def leave_abruptly():
    print("the last words before os._exit")
    os._exit(7)


with DAG("exits_mid_try", schedule=None) as exits_mid_try:
    PythonOperator(task_id="leaver", python_callable=leave_abruptly)
