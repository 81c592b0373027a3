"""For the UI tests: a run that misses its deadline (1 s after it was queued) while its task
waits for the marker file ``ui_deadline_go``."""

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

MARKER = os.path.join(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"), "ui_deadline_go")


async def noted(context):
    print("deadline missed", context["deadline"]["id"])


with DAG(
    "ui_deadline",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    tags=["ui"],
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=1),
        callback=AsyncCallback(noted),
        name="one second",
    ),
):
    BashOperator(task_id="wait", bash_command=f"while [ ! -f {MARKER} ]; do sleep 0.1; done")
