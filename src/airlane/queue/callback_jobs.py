"""A DAG-level callback to deliver: what the coordinator records when a run ends and the
callbacks role turns into an arq job.

One job per (run, callback kind, end of the run): its id is built from those alone, so a
coordinator that writes the same end twice (a replay after a restart) or a callbacks role that
enqueues the same pending entry twice (killed between enqueueing and forgetting it) makes
one job, which arq runs once (it refuses a job id it already holds or has a result for).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from airlane.queue.protocol import MalformedRecord


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
    #: when the run ended (epoch seconds): a run cleared and ended again gets a new job
    ended_at_s: float

    @property
    def job_id(self) -> str:
        ended_ms = round(self.ended_at_s * 1000)
        return f"airlane-dag-callback:{self.dag_id}|{self.run_id}|{self.kind.value}|{ended_ms}"

    def encode(self) -> str:
        return orjson.dumps(self.to_json()).decode()

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "kind": self.kind.value,
            "reason": self.reason.value,
            "ended_at_s": self.ended_at_s,
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
