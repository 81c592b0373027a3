"""Deadline alerts for the coordinator's and the callbacks role's tests (Airflow 3.1's
``DAG(deadline=...)``). The callbacks append a line to a file in $AIRLANE_TEST_MARKERS; the
gated task waits for the file ``release.<dag_id>`` there, so that a run is still going when
its deadline passes."""

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, task
from airflow.sdk.definitions.deadline import (
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
)

MARKERS = Path(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"))
START = datetime(2026, 1, 1)


async def notify_missed(label, context):
    run = context["dag_run"]
    deadline = context["deadline"]
    line = {
        "label": label,
        "dag_id": run["dag_id"],
        "run_id": run["dag_run_id"],
        "state": run["state"],
        "deadline_id": deadline["id"],
        "deadline_time": deadline["deadline_time"].timestamp(),
    }
    with open(MARKERS / "missed.lines", "a") as handle:
        handle.write(json.dumps(line) + "\n")


def notify_sync(label, **kwargs):
    with open(MARKERS / "sync.lines", "a") as handle:
        handle.write(f"{label} {kwargs['context']['dag_run']['dag_run_id']}\n")


@task
def gated(dag=None):
    while not (MARKERS / f"release.{dag.dag_id}").exists():
        time.sleep(0.02)


@task
def fails():
    raise RuntimeError("down")


def _dag(dag_id, deadline, body=gated, **kwargs):
    with DAG(dag_id, schedule=None, start_date=START, deadline=deadline, **kwargs) as dag:
        body()
    return dag


missed = _dag(
    "dl_missed",
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=1),
        callback=AsyncCallback(notify_missed, kwargs={"label": "one second"}),
    ),
    max_active_runs=1,  # a second run waits, queued, and misses its deadline there
)

failed = _dag(
    "dl_failed",
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=1),
        callback=AsyncCallback(notify_missed, kwargs={"label": "failed"}),
    ),
    body=fails,
)

met = _dag(
    "dl_met",
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=5),
        callback=AsyncCallback(notify_missed, kwargs={"label": "never"}),
    ),
)

fixed = _dag(
    "dl_fixed",
    [
        DeadlineAlert(
            reference=DeadlineReference.FIXED_DATETIME(datetime(2025, 1, 1)),
            interval=timedelta(hours=1),
            callback=SyncCallback(notify_sync, kwargs={"label": "fixed"}),
            name="long gone",
        ),
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=timedelta(hours=1),
            callback=SyncCallback(notify_sync, kwargs={"label": "no logical date"}),
        ),
    ],
)

average = _dag(
    "dl_average",
    DeadlineAlert(
        reference=DeadlineReference.AVERAGE_RUNTIME(max_runs=3, min_runs=1),
        interval=timedelta(seconds=0),
        callback=AsyncCallback(notify_missed, kwargs={"label": "average"}),
    ),
)
