"""DAGs for the tries their task processes finish themselves (tests/integration/
test_finish_here.py). Markers go to $AIRLANE_TEST_MARKERS."""

import os
import signal
import time
from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def _mark(run_id, ti):
    with open(os.path.join(MARKERS, f"{run_id}.runs"), "a") as handle:
        handle.write(f"{ti.task_id} {ti.try_number} {os.getpid()}\n")


def passing(run_id, ti):
    """Prints a line, adds one to what its upstream returned, returns it."""
    _mark(run_id, ti)
    upstream = ti.task.upstream_task_ids
    got = (ti.xcom_pull(task_ids=next(iter(upstream))) if upstream else 0) or 0
    print(f"{ti.task_id} got {got}")
    return got + 1


def slow_talker(run_id, ti):
    """Prints, then runs past its worker's first flush of the log."""
    _mark(run_id, ti)
    print(f"{ti.task_id} starts")
    time.sleep(0.4)
    print(f"{ti.task_id} ends")


def dies_first(run_id, ti):
    """Its first try kills its task process."""
    _mark(run_id, ti)
    print(f"{ti.task_id} try {ti.try_number}")
    if ti.try_number == 1:
        os.kill(os.getpid(), signal.SIGKILL)


def overruns(run_id, ti):
    _mark(run_id, ti)
    time.sleep(30)


def chain(dag_id, callables, **task_args):
    with DAG(dag_id, schedule=None) as dag:
        previous = None
        for i, callable_ in enumerate(callables):
            current = PythonOperator(
                task_id=f"s{i}", python_callable=callable_, retry_delay=timedelta(0), **task_args
            )
            if previous is not None:
                previous >> current
            previous = current
    return dag


fh_chain = chain("fh_chain", [passing] * 5)
fh_slow = chain("fh_slow", [slow_talker, passing, passing])
fh_dies = chain("fh_dies", [passing, dies_first, passing], retries=1)
with DAG("fh_timeout", schedule=None) as fh_timeout:
    PythonOperator(task_id="s0", python_callable=passing) >> PythonOperator(
        task_id="s1", python_callable=overruns, execution_timeout=timedelta(seconds=1)
    )
