"""The task message: everything a worker needs to run one try, so it reads nothing else first."""

from __future__ import annotations

from dataclasses import dataclass

STREAM_MAXLEN = 1_000_000
EVENTS_MAXLEN = 100_000


@dataclass(frozen=True, slots=True)
class TaskMessage:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    max_tries: int
    fileloc: str
    logical_date: str
    data_interval_start: str
    data_interval_end: str
    run_type: str
    conf: str
    queued_at: float
    reschedule_started_at_s: float | None = None

    def to_fields(self) -> dict[str, str]:
        fields = {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": str(self.map_index),
            "try": str(self.try_number),
            "max_tries": str(self.max_tries),
            "fileloc": self.fileloc,
            "logical_date": self.logical_date,
            "di_start": self.data_interval_start,
            "di_end": self.data_interval_end,
            "run_type": self.run_type,
            "conf": self.conf,
            "queued_at": repr(self.queued_at),
        }
        if self.reschedule_started_at_s is not None:
            fields["rs"] = repr(self.reschedule_started_at_s)
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> TaskMessage:
        rs = fields.get("rs")
        return cls(
            dag_id=fields["dag_id"],
            run_id=fields["run_id"],
            task_id=fields["task_id"],
            map_index=int(fields["map_index"]),
            try_number=int(fields["try"]),
            max_tries=int(fields["max_tries"]),
            fileloc=fields["fileloc"],
            logical_date=fields["logical_date"],
            data_interval_start=fields["di_start"],
            data_interval_end=fields["di_end"],
            run_type=fields["run_type"],
            conf=fields["conf"],
            queued_at=float(fields["queued_at"]),
            reschedule_started_at_s=float(rs) if rs else None,
        )
