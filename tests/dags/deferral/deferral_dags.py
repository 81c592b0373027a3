"""DAGs whose tasks defer (tests/integration/test_deferral.py, tests/unit/test_deferral_local.py)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.models.baseoperator import BaseOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.triggers.file import FileTrigger
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG
from deferral_triggers import BrokenTrigger, ForeverTrigger

MARKERS = Path(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"))


class WaitForFile(BaseOperator):
    """Defers until ``<markers>/<name>`` exists; the resumed method records the resume."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context: Any) -> None:
        path = str(MARKERS / self.name)
        self.defer(
            trigger=FileTrigger(filepath=path, poke_interval=0.05),
            method_name="done",
            kwargs={"started_try": context["ti"].try_number},
        )

    def done(self, context: Any, event: Any = None, started_try: int = 0) -> str:
        label = f"{self.task_id}[{context['ti'].map_index}]"
        with open(MARKERS / f"{context['run_id']}.resumed", "a") as out:
            out.write(f"{label} {started_try} {context['ti'].try_number} {event}\n")
        return f"resumed {event}"


class Sleepy(BaseOperator):
    def __init__(self, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def execute(self, context: Any) -> None:
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=self.seconds)), method_name="woke")

    def woke(self, context: Any, event: Any = None) -> str:
        return f"woke at {event.isoformat()}"


class Broken(BaseOperator):
    def execute(self, context: Any) -> None:
        self.defer(trigger=BrokenTrigger("the trigger broke"), method_name="never")

    def never(self, context: Any, event: Any = None) -> None:
        raise AssertionError("a broken trigger must not resume its task")


class Forever(BaseOperator):
    """Defers on a trigger that never fires: ``timeout_s`` fails it."""

    def __init__(self, timeout_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout_s = timeout_s

    def execute(self, context: Any) -> None:
        ti = context["ti"]
        marker = str(MARKERS / f"{context['run_id']}.{self.task_id}.{ti.try_number}")
        self.defer(
            trigger=ForeverTrigger(marker),
            method_name="never",
            timeout=timedelta(seconds=self.timeout_s) if self.timeout_s else None,
        )

    def never(self, context: Any, event: Any = None) -> None:
        raise AssertionError("unreachable")


class Write(BaseOperator):
    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context: Any) -> None:
        (MARKERS / self.name).write_text("released")


with DAG("defer_frees_slot", start_date=datetime(2024, 1, 1), schedule=None):
    # one worker slot: the waiter (higher priority) runs first and defers; the writer can only
    # run in the slot the waiter gave back, and its file resumes the waiter
    WaitForFile(task_id="waiter", name="slot-release", priority_weight=10)
    Write(task_id="writer", name="slot-release")

with DAG("defer_many", start_date=datetime(2024, 1, 1), schedule=None):
    # six tries on three distinct triggers (two identical ones each: deduplicated)
    WaitForFile.partial(task_id="wait").expand(name=[f"many-{i % 3}" for i in range(6)])

with DAG("defer_sleep", start_date=datetime(2024, 1, 1), schedule=None):
    Sleepy(task_id="sleep", seconds=0.5)

with DAG("defer_failures", start_date=datetime(2024, 1, 1), schedule=None):
    Broken(task_id="broken")
    Forever(task_id="timed_out", timeout_s=0.5)

with DAG("defer_forever", start_date=datetime(2024, 1, 1), schedule=None):
    Forever(task_id="forever")

with DAG("defer_file_sensors", start_date=datetime(2024, 1, 1), schedule=None):
    # a hundred tries on one worker of two slots, all waiting for one file that the test writes
    # once it has seen every one deferred: each pokes once, defers and gives its slot back, so
    # all are deferred at once (on one trigger: identical FileTriggers are deduplicated).
    for i in range(100):
        FileSensor(
            task_id=f"sensor_{i:03d}",
            filepath=str(MARKERS / "hundred"),
            deferrable=True,
            poke_interval=0.05,
        )
