"""A task callback of a try that died with its worker: what the coordinator records when it
fails such a try, and the callbacks role turns into an arq job.

A try's own callbacks run in its task process (service/execution/task_runner.py); a try whose
worker was killed ran none. Airflow 3.1 sends a ``TaskCallbackRequest`` for it to the DAG
processor (scheduler_job_runner, a task "killed externally": on_retry_callback when the try will
be retried, else on_failure_callback); Airlane records a :class:`TaskCallbackJob` beside the
try's end (``callbacks:pending``, the same batch) and the callbacks role delivers it.

One job per (run, task, map index, try, callback kind, generation of the run): its id is built
from those alone, so a coordinator that reaps the same dead worker twice (restarted before its
batch was written) records one job, which arq runs once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from airlane.queue.callback_jobs import DagCallbackJob
from airlane.queue.deadline_jobs import DeadlineCallbackJob
from airlane.queue.protocol import MalformedRecord

JOB_ID_PREFIX = "airlane-task-callback:"


class TaskCallbackKind(StrEnum):
    FAILURE = "on_failure_callback"
    RETRY = "on_retry_callback"


@dataclass(frozen=True, slots=True)
class TaskCallbackJob:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    max_tries: int
    kind: TaskCallbackKind
    #: why the try failed (the coordinator's message), logged with the callback
    reason: str
    #: when the try was failed (epoch seconds): how old the job is
    ended_at_s: float
    generation: int = 0

    @property
    def job_id(self) -> str:
        return (
            f"{JOB_ID_PREFIX}{self.dag_id}|{self.run_id}|{self.task_id}|{self.map_index}"
            f"|{self.try_number}|{self.kind.value}|g{self.generation}"
        )

    def encode(self) -> str:
        return orjson.dumps(self.to_json()).decode()

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
            "try_number": self.try_number,
            "max_tries": self.max_tries,
            "kind": self.kind.value,
            "reason": self.reason,
            "ended_at_s": self.ended_at_s,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, data: Any) -> TaskCallbackJob:
        try:
            return cls(
                str(data["dag_id"]),
                str(data["run_id"]),
                str(data["task_id"]),
                int(data["map_index"]),
                int(data["try_number"]),
                int(data["max_tries"]),
                TaskCallbackKind(data["kind"]),
                str(data.get("reason") or ""),
                float(data["ended_at_s"]),
                int(data.get("generation") or 0),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedRecord(f"task callback job {data!r:.300}: {err}") from None


#: a job the callbacks role delivers
CallbackJob = DagCallbackJob | TaskCallbackJob | DeadlineCallbackJob


def decode_job(raw: str | bytes) -> CallbackJob:
    """A pending or queued job: a task callback's when it names a task, a missed deadline's
    when it names an alert, else a DAG's."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise MalformedRecord(f"callback job {raw!r:.300}: {err}") from None
    if isinstance(data, dict) and "task_id" in data:
        return TaskCallbackJob.from_json(data)
    if isinstance(data, dict) and "alert_index" in data:
        return DeadlineCallbackJob.from_json(data)
    return DagCallbackJob.from_json(data)
