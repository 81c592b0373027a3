"""A DAG-level callback to deliver: what the coordinator records when a run ends and the
callbacks role turns into an arq job.

One job per (run, callback kind, generation of the run): its id is built from those alone, so
a coordinator that writes the same end twice (a replay after a restart, even one that finds
part of a split batch written) or a callbacks role that enqueues the same pending entry twice
(killed between enqueueing and forgetting it) makes one job, which arq runs once (it refuses a
job id it already holds or has a result for). The generation is stored with the run (its hash's
``RUN_GENERATION`` field) and counts the clears and marks that reopened it after an end: a run
cleared and ended again gets a new job. (A job recorded before generations existed has none:
its id is built from its end time, as it was then.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from airlane.queue.protocol import MalformedRecord

#: the run hash's field counting how many times a clear or mark reopened the run after its end
RUN_GENERATION = "generation"
JOB_ID_PREFIX = "airlane-dag-callback:"


class CallbackKind(StrEnum):
    SUCCESS = "on_success_callback"
    FAILURE = "on_failure_callback"


class CallbackReason(StrEnum):
    """Airflow 3's ``reason`` in a DAG callback's context (``DagCallbackRequest.msg``)."""

    SUCCESS = "success"
    TASK_FAILURE = "task_failure"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True, slots=True)
class DagCallbackJob:
    dag_id: str
    run_id: str
    kind: CallbackKind
    reason: CallbackReason
    #: when the run ended (epoch seconds): how old the job is
    ended_at_s: float
    #: the run's generation (RUN_GENERATION) at its end; None in a job recorded before them
    generation: int | None = None

    @property
    def job_id(self) -> str:
        if self.generation is None:
            ended_ms = round(self.ended_at_s * 1000)
            return f"{JOB_ID_PREFIX}{self.dag_id}|{self.run_id}|{self.kind.value}|{ended_ms}"
        return job_id_of(self.dag_id, self.run_id, self.kind, self.generation)

    def encode(self) -> str:
        return orjson.dumps(self.to_json()).decode()

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "kind": self.kind.value,
            "reason": self.reason.value,
            "ended_at_s": self.ended_at_s,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, data: Any) -> DagCallbackJob:
        try:
            return cls(
                str(data["dag_id"]),
                str(data["run_id"]),
                CallbackKind(data["kind"]),
                CallbackReason(data["reason"]),
                float(data["ended_at_s"]),
                None if data.get("generation") is None else int(data["generation"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedRecord(f"DAG callback job {data!r:.300}: {err}") from None

    @classmethod
    def decode(cls, raw: str | bytes) -> DagCallbackJob:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise MalformedRecord(f"DAG callback job {raw!r:.300}: {err}") from None
        return cls.from_json(data)


def job_id_of(dag_id: str, run_id: str, kind: CallbackKind, generation: int) -> str:
    return f"{JOB_ID_PREFIX}{dag_id}|{run_id}|{kind.value}|g{generation}"


def run_generation(raw: str | None) -> int:
    """The generation a run hash records in RUN_GENERATION (0 before its first reopening)."""
    try:
        return int(raw or 0)
    except ValueError:
        return 0


def job_ids_of_run(dag_id: str, run_id: str, generation: int) -> list[str]:
    """The ids of every job a run of that generation may have had (deleting the run)."""
    return [
        job_id_of(dag_id, run_id, kind, g) for g in range(generation + 1) for kind in CallbackKind
    ]
