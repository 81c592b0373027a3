"""The task message: what a worker needs to run one try; and the log line, what a try prints.

The run's conf is not in it: a conf can be large and a run has many tries, so workers read it
from the run's hash once per run (:mod:`airlane.service.worker.run_conf`); ``run_queued_at``
(when the run was created) tells a run from an earlier one of the same id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from airlane.queue.protocol import Fields

#: a safety cap only: acknowledged entries of the task, completion and command streams are
#: trimmed by the coordinator (see :mod:`airlane.queue.trimming`)
STREAM_MAXLEN = 1_000_000
#: the events stream is the subscribers' resume log, kept by count: an event is a few short
#: fields (kind, run ref, instance, state, try: about 150 bytes, 1 KB with the longest DAG and
#: run ids), so about 15 MB, 100 MB at worst
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
    run_queued_at: str
    queued_at: float
    reschedule_started_at_s: float | None = None
    #: the try was deferred and resumes (the claim reads how: its ``resumes`` entry)
    resumed: bool = False

    def to_fields(self) -> dict[str, str]:
        """The stream entry: one JSON field, which Redis stores and Lua copies as one value."""
        return {"m": orjson.dumps([getattr(self, name) for name in _FIELDS]).decode()}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> TaskMessage:
        return cls(*orjson.loads(fields["m"]))


_FIELDS = tuple(TaskMessage.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class LogLine:
    """An entry of a try's ``log:`` stream: one line it printed.

    The worker's log writer sends the lines as they come; Lua: ``FINISH_MANY`` writes the
    try's last ones itself (``XADD log:... * line <text>``) in the step that finishes it.
    """

    line: str

    def to_fields(self) -> Fields:
        return {"line": self.line}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> LogLine:
        return cls(fields.get("line", ""))
