"""DAGs for the fast path's tests (tests/integration/test_fast_path.py). Markers go to
$AIRLANE_TEST_MARKERS."""

import os
import time
from datetime import timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def held(run_id, ti):
    """Runs a little while; writes when, for the tests that look for overlaps."""
    started = time.time()
    time.sleep(0.3)
    with open(os.path.join(MARKERS, f"{run_id}.spans"), "a") as handle:
        handle.write(f"{ti.task_id} {ti.try_number} {started} {time.time()}\n")


def quick(run_id, ti):
    with open(os.path.join(MARKERS, f"{run_id}.spans"), "a") as handle:
        handle.write(f"{ti.task_id} {ti.try_number} {time.time()} {time.time()}\n")


def step(run_id, ti):
    started = time.time()
    time.sleep(0.1)
    with open(os.path.join(MARKERS, f"{run_id}.spans"), "a") as handle:
        handle.write(f"{ti.task_id} {ti.try_number} {started} {time.time()}\n")


def chain(dag_id, count, callable_, queue="default", **dag_args):
    with DAG(dag_id, schedule=None, **dag_args) as dag:
        previous = None
        for i in range(count):
            current = PythonOperator(
                task_id=f"s{i}",
                python_callable=callable_,
                retries=1,
                retry_delay=timedelta(0),
                queue=queue,
            )
            if previous is not None:
                previous >> current
            previous = current
    return dag


fp_chain = chain("fp_chain", 6, quick)

# a pool of 1: the fan-out below runs one at a time, however its instances are queued
with DAG("fp_pool", schedule=None) as fp_pool:
    root = PythonOperator(task_id="root", python_callable=held, pool="fp_one")
    for i in range(4):
        root >> PythonOperator(task_id=f"x{i}", python_callable=held, pool="fp_one")

# two chains in a DAG that runs one task at a time
with DAG("fp_max_tasks", schedule=None, max_active_tasks=1) as fp_max_tasks:
    for name in ("a", "b"):
        PythonOperator(task_id=f"{name}1", python_callable=held) >> PythonOperator(
            task_id=f"{name}2", python_callable=held
        )

# one_success: the fast path leaves it to the coordinator
with DAG("fp_rule", schedule=None) as fp_rule:
    [
        PythonOperator(task_id="first", python_callable=quick),
        PythonOperator(task_id="second", python_callable=held),
    ] >> PythonOperator(task_id="either", python_callable=quick, trigger_rule="one_success")

with DAG("fp_mapped", schedule=None) as fp_mapped:

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def double(n):
        return 2 * n

    double.expand(n=numbers())

# a long chain, for the kills
fp_long = chain("fp_long", 30, step)

# on a queue of its own, which a test reads by hand before a worker serves it
fp_mini = chain("fp_mini", 3, quick, queue="fp_mini")
