"""DAGs for fault tests. Marker files go to $AIRLANE_TEST_MARKERS (set by the tests)."""

import os
import time
from datetime import timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def record(run_id, ti):
    with open(os.path.join(MARKERS, f"{run_id}.executions"), "a") as handle:
        handle.write(f"{ti.task_id} try {ti.try_number}\n")
    time.sleep(1.5)


def step(run_id, ti):
    time.sleep(0.15)
    with open(os.path.join(MARKERS, f"{run_id}.steps"), "a") as handle:
        handle.write(f"{ti.task_id}\n")


with DAG("slow_task", schedule=None, default_args={"retries": 1, "retry_delay": timedelta(0)}) as slow:
    BashOperator(
        task_id="slow",
        bash_command=(
            'sleep 6 & echo $! > "$AIRLANE_TEST_MARKERS/{{ run_id }}-{{ ti.try_number }}.pid"; '
            "wait; echo finished"
        ),
    ) >> BashOperator(task_id="after", bash_command="echo after")

with DAG("chain_slow", schedule=None) as chain_slow:
    previous = None
    for i in range(25):
        current = PythonOperator(task_id=f"s{i:02d}", python_callable=step)
        if previous is not None:
            previous >> current
        previous = current

with DAG("counted", schedule=None) as counted:
    PythonOperator(task_id="once", python_callable=record)

with DAG("retry_delay", schedule=None) as retry_delay_dag:
    BashOperator(
        task_id="flaky",
        bash_command='[ "{{ ti.try_number }}" -ge 2 ] || exit 1',
        retries=1,
        retry_delay=timedelta(seconds=1.5),
    )

with DAG("timeout_group", schedule=None) as timeout_group:
    BashOperator(
        task_id="too_slow",
        bash_command='sleep 60 & echo $! > "$AIRLANE_TEST_MARKERS/{{ run_id }}.pid"; wait',
        execution_timeout=timedelta(seconds=1),
    )

with DAG("hand_back", schedule=None) as hand_back:
    BashOperator(task_id="long", bash_command="sleep 3; echo done")


def pooled(run_id, ti):
    with open(os.path.join(MARKERS, f"{run_id}.pool"), "a") as handle:
        handle.write(f"start {time.time()}\n")
    time.sleep(0.3)
    with open(os.path.join(MARKERS, f"{run_id}.pool"), "a") as handle:
        handle.write(f"end {time.time()}\n")


with DAG("pooled", schedule=None) as pooled_dag:
    for i in range(3):
        PythonOperator(task_id=f"p{i}", python_callable=pooled, pool="single")

with DAG("run_timeout", schedule=None, dagrun_timeout=timedelta(seconds=1)) as run_timeout:
    BashOperator(task_id="forever", bash_command="sleep 20") >> BashOperator(
        task_id="never", bash_command="true"
    )

with DAG("lost", schedule=None, default_args={"retries": 1, "retry_delay": timedelta(0)}) as lost:
    BashOperator(task_id="quick", bash_command="echo quick")


def _one_at_a_time(marker):
    with open(os.path.join(MARKERS, marker), "a") as handle:
        handle.write(f"start {time.time()}\n")
    time.sleep(0.3)
    with open(os.path.join(MARKERS, marker), "a") as handle:
        handle.write(f"end {time.time()}\n")


with DAG("task_limits", schedule=None, max_active_runs=2) as task_limits:

    @task(max_active_tis_per_dag=1)
    def per_dag(x, **context):
        _one_at_a_time("task_limits.per_dag")

    @task(max_active_tis_per_dagrun=1)
    def per_run(x, **context):
        _one_at_a_time(f"{context['run_id']}.per_run")

    @task
    def free(x):
        return x

    per_dag.expand(x=[1, 2])
    per_run.expand(x=[1, 2, 3])
    free.expand(x=[1, 2, 3, 4])
