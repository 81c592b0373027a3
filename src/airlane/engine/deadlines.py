"""Deadline alerts' arithmetic (Airflow 3.1's ``Deadline``), pure: when a run's deadline is,
what its entry in the deadlines set is called, and which of a run's deadlines its success
drops.

A deadline is the alert's reference plus its interval: the run's logical date, the time it
was queued, a fixed time, or (``AverageRuntimeDeadline``) the time it was queued plus the
average duration of the DAG's latest finished runs. A run without a logical date gets no
deadline counted from one, as a DAG with too few finished runs gets none counted from
their average (Airflow logs and skips both). The deadline is fixed when the run is created
and never moves: a cleared run keeps the one it had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LOGICAL_DATE = "DagRunLogicalDateDeadline"
QUEUED_AT = "DagRunQueuedAtDeadline"
FIXED = "FixedDatetimeDeadline"
AVERAGE = "AverageRuntimeDeadline"

#: separates the parts of an entry of the deadlines set (never in a DAG or run id)
_SEP = "\x1f"
#: the run hash's field of its deadline for alert ``i``: ``FIELD_PREFIX + str(i)``
FIELD_PREFIX = "deadline:"


@dataclass(frozen=True, slots=True)
class RunTimes:
    """What a deadline may count from, in epoch seconds."""

    logical_date_s: float | None
    queued_at_s: float


def _reference(alert: Mapping[str, Any]) -> Mapping[str, Any]:
    found = alert.get("reference")
    return found if isinstance(found, Mapping) else {}


def history_needed(alert: Mapping[str, Any]) -> int:
    """How many of the DAG's latest finished runs the alert averages (0: none)."""
    reference = _reference(alert)
    if reference.get("reference_type") != AVERAGE:
        return 0
    return int(reference.get("max_runs") or 10)


def deadline_s(
    alert: Mapping[str, Any], run: RunTimes, durations_s: Sequence[float] = ()
) -> float | None:
    """When the run's deadline is, None when it gets none (``durations_s``: the DAG's latest
    finished runs' durations, newest first, for an average)."""
    reference = _reference(alert)
    kind = reference.get("reference_type")
    base_s: float | None
    if kind == LOGICAL_DATE:
        base_s = run.logical_date_s
    elif kind == QUEUED_AT:
        base_s = run.queued_at_s
    elif kind == FIXED:
        base_s = float(reference["datetime"])
    elif kind == AVERAGE:
        max_runs = int(reference.get("max_runs") or 10)
        min_runs = int(reference.get("min_runs") or max_runs)
        recent = list(durations_s[:max_runs])
        base_s = run.queued_at_s + sum(recent) / len(recent) if len(recent) >= min_runs else None
    else:
        return None
    return None if base_s is None else base_s + float(alert.get("interval_s") or 0.0)


def entry(dag_id: str, run_id: str, index: int) -> str:
    """The run's deadline ``index`` (its alert's position) in the deadlines set."""
    return f"{dag_id}{_SEP}{run_id}{_SEP}{index}"


def parse_entry(text: str) -> tuple[str, str, int] | None:
    parts = text.split(_SEP)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


def met_by_success(deadlines: Mapping[str, float], ended_at_s: float) -> list[str]:
    """The entries a run's success drops: the deadlines it met (Airflow prunes those whose
    time is at or after the run's end; one already passed stays, to be reported)."""
    return [name for name, due_s in deadlines.items() if due_s >= ended_at_s]


def alert_label(alert: Mapping[str, Any], index: int) -> str:
    """How the alert is named in events and logs: its ``name``, else its position."""
    name = alert.get("name")
    return str(name) if name else f"deadline_alert[{index}]"


def run_deadlines(fields: Mapping[str, str]) -> dict[int, float]:
    """The deadlines a run's hash holds, by alert index."""
    found: dict[int, float] = {}
    for name, value in fields.items():
        index = name[len(FIELD_PREFIX) :]
        if name.startswith(FIELD_PREFIX) and index.isdigit():
            try:
                found[int(index)] = float(value)
            except ValueError:
                continue
    return found


def run_entries(dag_id: str, run_id: str, field_names: Iterable[str]) -> list[str]:
    """The run's entries in the deadlines set, from the names of its hash's fields."""
    indices = [n[len(FIELD_PREFIX) :] for n in field_names if n.startswith(FIELD_PREFIX)]
    return [entry(dag_id, run_id, int(i)) for i in indices if i.isdigit()]
