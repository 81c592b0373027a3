"""Task callbacks of tries that die with their worker, and a DAG callback list with Airlane's
webhook notifier, for the callbacks role's tests (markers in $AIRLANE_TEST_MARKERS)."""

import os
import time
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator

from airlane.sdk.webhook_notifier import WebhookNotifier

MARKERS = Path(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"))
START = datetime(2026, 1, 1)
WEBHOOK_URL = os.environ.get("AIRLANE_TEST_WEBHOOK_URL") or "http://127.0.0.1:9/unset"


def _append(name, line):
    with open(MARKERS / name, "a") as handle:
        handle.write(f"{line}\n")


def record_task(name):
    def callback(context):
        ti = context["ti"]
        fields = (context["run_id"], ti.task_id, ti.map_index, ti.try_number, ti.max_tries)
        extra = sorted({"exception", "reason"} & set(context))
        _append(f"{name}.lines", " ".join(str(f) for f in (*fields, *extra)))

    callback.__name__ = f"record_{name}"
    return callback


def stuck(**context):
    """Its first try waits until its worker is killed; a later one returns."""
    ti = context["ti"]
    _append("stuck.started", f"{ti.task_id} {ti.try_number}")
    while ti.try_number == 1:
        time.sleep(0.05)


with DAG("cb_dead_try", schedule=None, start_date=START) as cb_dead_try:
    PythonOperator(
        task_id="retrying",
        python_callable=stuck,
        retries=1,
        retry_delay=0,
        on_retry_callback=record_task("dead_retry"),
        on_failure_callback=record_task("dead_failure_of_retrying"),
    )
    PythonOperator(
        task_id="failing",
        python_callable=stuck,
        on_retry_callback=record_task("dead_retry_of_failing"),
        on_failure_callback=[record_task("dead_failure"), WebhookNotifier(WEBHOOK_URL)],
    )


def record_dag(context):
    _append("dn_first.lines", f"{context['reason']} {context['run_id']}")


def blocking(context):
    """Says it started, then waits for the test to release it."""
    _append("dn_blocking.started", "started")
    while not (MARKERS / "release").exists():
        time.sleep(0.02)
    _append("dn_blocking.lines", context["run_id"])


def boom():
    raise ValueError("boom")


with DAG(
    "cb_notify",
    schedule=None,
    start_date=START,
    on_failure_callback=[
        record_dag,
        WebhookNotifier(WEBHOOK_URL, headers={"X-Run": "{{ run_id }}"}),
        blocking,
    ],
) as cb_notify:
    PythonOperator(task_id="fails", python_callable=boom)

with DAG(
    "cb_notify_down",
    schedule=None,
    start_date=START,
    on_failure_callback=WebhookNotifier(WEBHOOK_URL.replace("/hook", "/T0K3N/down")),
) as cb_notify_down:
    PythonOperator(task_id="fails", python_callable=boom)


def leaky(context):
    """A callback whose error (and log) holds a connection's password."""
    import logging

    from airflow.hooks.base import BaseHook

    conn = BaseHook.get_connection("notify_secret")
    logging.getLogger("leaky").error("cannot log in with %s", conn.password)
    raise RuntimeError(f"{conn.host} refused {conn.password}")


with DAG("cb_leaky", schedule=None, start_date=START, on_failure_callback=leaky) as cb_leaky:
    PythonOperator(task_id="fails", python_callable=boom)
