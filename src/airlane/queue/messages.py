"""The task message: everything a worker needs to run one try, so it reads nothing else first."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

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
        """The stream entry: one JSON field, which Redis stores and Lua copies as one value."""
        return {"m": orjson.dumps([getattr(self, name) for name in _FIELDS]).decode()}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> TaskMessage:
        return cls(*orjson.loads(fields["m"]))


_FIELDS = tuple(TaskMessage.__dataclass_fields__)
