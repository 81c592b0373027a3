"""A missed deadline's callback: what the coordinator records when a run's deadline passes
(``callbacks:pending``, in the batch that takes the deadline out of ``deadlines``) and the
callbacks role turns into an arq job.

One job per (run, alert, deadline): a run has one deadline per alert, fixed when it was
created, so the id is built from those alone and a deadline reported twice (a coordinator
restarted before its batch was written) makes one job, which arq runs once; a run deleted and
created again under the same id has its own deadline (its queue time differs) and its own job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from airlane.queue.protocol import MalformedRecord

JOB_ID_PREFIX = "airlane-deadline-callback:"


class DeadlineKind(StrEnum):
    MISSED = "deadline_alert"


@dataclass(frozen=True, slots=True)
class DeadlineCallbackJob:
    dag_id: str
    run_id: str
    #: the alert's position in the DAG's ``deadline`` list
    alert_index: int
    #: the deadline that passed (epoch seconds)
    deadline_s: float
    #: when the coordinator found it passed: how old the job is (a fixed deadline may be
    #: long gone when a run is created)
    reported_at_s: float
    kind: DeadlineKind = DeadlineKind.MISSED

    @property
    def ended_at_s(self) -> float:
        return self.reported_at_s

    @property
    def job_id(self) -> str:
        return deadline_job_id(self.dag_id, self.run_id, self.alert_index, self.deadline_s)

    def encode(self) -> str:
        return orjson.dumps(self.to_json()).decode()

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "alert_index": self.alert_index,
            "deadline_s": self.deadline_s,
            "reported_at_s": self.reported_at_s,
        }

    @classmethod
    def from_json(cls, data: Any) -> DeadlineCallbackJob:
        try:
            return cls(
                str(data["dag_id"]),
                str(data["run_id"]),
                int(data["alert_index"]),
                float(data["deadline_s"]),
                float(data["reported_at_s"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedRecord(f"deadline callback job {data!r:.300}: {err}") from None


def deadline_job_id(dag_id: str, run_id: str, alert_index: int, deadline_s: float) -> str:
    return f"{JOB_ID_PREFIX}{dag_id}|{run_id}|{alert_index}|{round(deadline_s * 1000)}"


def deadline_job_ids(dag_id: str, run_id: str, deadlines: Mapping[int, float]) -> list[str]:
    """The ids of the jobs a run's deadlines (index -> time, as its hash holds them) make."""
    return [deadline_job_id(dag_id, run_id, i, due) for i, due in deadlines.items()]
