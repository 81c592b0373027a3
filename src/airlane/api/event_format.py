"""What the event stream sends, decided without I/O: payloads, filters, SSE frames, stream ids.

Everything here is pure so that the one reader of the events stream (:mod:`event_hub`) can
format an entry once and hand the same bytes to every client whose filter wants it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from airlane.queue.events_protocol import decode_event
from airlane.queue.messages import LogLine

_STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")  # ASCII digits: Redis takes no others
#: Redis stream ids are two unsigned 64-bit integers
_MAX_ID_PART = 2**64 - 1

KEEPALIVE = b": keepalive\n\n"
CONNECTED = b": connected\n\n"


def connected_at(entry_id: str) -> bytes:
    """The first frame of a live stream: a resume point (an id without data) at its start."""
    return f": connected\nid: {entry_id}\n\n".encode()


#: sent before a stream is ended because its client fell too far behind
TOO_SLOW = b": too far behind, resume with Last-Event-ID\n\n"
#: sent before a stream is ended because Redis could not be read
UNAVAILABLE = b": events unavailable, resume with Last-Event-ID\n\n"


def parse_stream_id(text: str) -> tuple[int, int] | None:
    """``"<millis>-<seq>"`` as Redis accepts it (both parts fit 64 bits), else None."""
    match = _STREAM_ID.fullmatch(text)
    if match is None:
        return None
    millis, seq = int(match[1]), int(match[2])
    if millis > _MAX_ID_PART or seq > _MAX_ID_PART:
        return None
    return millis, seq


def id_tuple(entry_id: str) -> tuple[int, int]:
    """An id read from Redis as a comparable pair (ids from Redis are always well formed)."""
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def next_id(entry_id: str) -> str | None:
    """The smallest id after ``entry_id`` (an exclusive XRANGE start that Redis < 6.2 reads
    too), or None when there is none."""
    millis, seq = id_tuple(entry_id)
    if seq < _MAX_ID_PART:
        return f"{millis}-{seq + 1}"
    return f"{millis + 1}-0" if millis < _MAX_ID_PART else None


def event_payload(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The JSON data of one SSE event (raises ValueError when the entry is malformed)."""
    millis = int(entry_id.split("-", 1)[0])
    data: dict[str, Any] = {
        "kind": fields.get("kind", ""),
        "at": datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z"),
    }
    data.update(decode_event(fields).payload())
    if data["kind"] == "asset" and "event" in fields and "asset_id" not in data:
        data.update(_asset_record(fields["event"]))
    return data


def _asset_record(text: str) -> dict[str, Any]:
    """An ``asset`` entry's event record (Airflow's AssetEvent fields), as written by the
    asset store's RECORD_ASSET_EVENTS."""
    record = orjson.loads(text)
    if not isinstance(record, dict):
        raise ValueError(f"asset event record is not an object: {text:.200}")
    return record


def wanted(
    data: dict[str, Any],
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None = None,
    kinds: frozenset[str] = frozenset(),
) -> bool:
    if kinds and data.get("kind") not in kinds:
        return False
    if data.get("kind") == "asset":
        return _asset_wanted(data, dag_id, run_id, task_id)
    if dag_id is not None and data.get("dag_id") not in (dag_id, None):
        return False
    if run_id is not None and data.get("run_id") != run_id:
        return False
    if task_id is not None and data.get("task_id") != task_id:
        return False
    if dag_id is not None and "dag_id" not in data:
        return bool(data["kind"] == "import_errors")
    return True


def _asset_wanted(
    data: dict[str, Any], dag_id: str | None, run_id: str | None, task_id: str | None
) -> bool:
    """An asset event concerns the DAG, run and task that produced it (its ``source_*``)."""
    return (
        (dag_id is None or data.get("source_dag_id") == dag_id)
        and (run_id is None or data.get("source_run_id") == run_id)
        and (task_id is None or data.get("source_task_id") == task_id)
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What one client asked for (``dag_id``, ``run_id``, ``task_id``, ``kind``, ``logs``)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    kinds: frozenset[str] = frozenset()
    logs: bool = False

    def wants(self, data: dict[str, Any]) -> bool:
        return wanted(data, self.dag_id, self.run_id, self.task_id, self.kinds)

    def tails(self, data: dict[str, Any]) -> bool:
        """Whether this (wanted) event starts a try whose log lines the client follows."""
        return self.logs and data["kind"] == "ti" and data.get("state") == "running"


def try_of(data: dict[str, Any]) -> dict[str, Any]:
    """Which try a log line belongs to, as its ``running`` event named it."""
    names = ("dag_id", "run_id", "task_id", "map_index", "try_number")
    return {name: data[name] for name in names}


def sse(entry_id: str | None, kind: str, data: dict[str, Any]) -> bytes:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {kind}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def log_frame(stream: str, about: dict[str, Any], fields: dict[str, str]) -> bytes:
    line = {"kind": "log", "stream": stream, **about, "line": LogLine.from_fields(fields).line}
    return sse(None, "log", line)
