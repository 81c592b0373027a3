"""DAG-level callbacks for the callbacks role's tests. Each callback appends a line to a file
in $AIRLANE_TEST_MARKERS (set by the tests)."""

import os
import time
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator

MARKERS = Path(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"))
START = datetime(2026, 1, 1)


def record(name):
    def callback(context):
        ti = context.get("ti")
        line = f"{context['reason']} {context['run_id']} {ti.task_id if ti else '-'}\n"
        with open(MARKERS / f"{name}.lines", "a") as handle:
            handle.write(line)

    callback.__name__ = f"record_{name}"
    return callback


def blocking(context):
    """Says it started, then waits for the test to release it."""
    with open(MARKERS / "blocking.started", "a") as handle:
        handle.write("started\n")
    while not (MARKERS / "release").exists():
        time.sleep(0.02)
    record("blocking")(context)


def raising(context):
    with open(MARKERS / "raising.tries", "a") as handle:
        handle.write("try\n")
    raise RuntimeError("the receiver is down")


def boom():
    raise ValueError("boom")


def _failing(dag_id, **callbacks):
    with DAG(dag_id, schedule=None, start_date=START, **callbacks) as dag:
        first = PythonOperator(task_id="a_first", python_callable=lambda: 1)
        fails = PythonOperator(task_id="b_fails", python_callable=boom)
        after = PythonOperator(task_id="c_after", python_callable=lambda: 1)
        first >> fails >> after
    return dag


cb_fail = _failing("cb_fail", on_failure_callback=record("fail"), on_success_callback=record("never"))
cb_block = _failing("cb_block", on_failure_callback=blocking)
cb_raise = _failing("cb_raise", on_failure_callback=[record("before_raising"), raising])

with DAG(
    "cb_success",
    schedule=None,
    start_date=START,
    on_success_callback=[record("ok1"), record("ok2")],
    on_failure_callback=record("never"),
) as cb_success:
    PythonOperator(task_id="only", python_callable=lambda: 1)
