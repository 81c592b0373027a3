"""A run as Airflow's REST API gives it (``DAGRunResponse``), from its stored hash: the API's
``GET .../dagRuns/{run_id}`` and a deadline callback's ``context["dag_run"]``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airlane.queue.codec import loads
from airlane.sdk.timetable_base import DagRunType

_RUN_TYPES = frozenset(kind.value for kind in DagRunType)
_TRIGGERED_BY = {
    "manual": "rest_api",
    "operator_triggered": "operator",
    "asset_triggered": "asset",
    "asset_materialization": "rest_api",
}


def iso(value: float | str | None) -> str | None:
    """A stored time (epoch seconds as a number or string, or ISO text) as ISO 8601 UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return value
    else:
        seconds = float(value)
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _seconds(value: float | str | None) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def run_type(value: str | None) -> str:
    return value if value in _RUN_TYPES else "manual"


def run_after(run: dict[str, str]) -> str | None:
    """When the run was due: the ``run_after`` it was created with (an asset-triggered run, a
    run triggered for later), else its logical date, else when it was queued."""
    return run.get("run_after") or run.get("logical_date") or iso(run.get("queued_at"))


def run_after_s(run: Mapping[str, str]) -> float | None:
    """The ``run_after`` a run was created with, as epoch seconds (None: none, or unreadable:
    such a run starts as soon as it may)."""
    text = run.get("run_after")
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def triggered_by(run: dict[str, str]) -> str | None:
    """Airflow's DagRunTriggeredByType value of the run (``asset`` for an asset-triggered
    run)."""
    return _TRIGGERED_BY.get(run.get("run_type") or "")


def run_versions(
    dag: dict[str, Any] | None, run: dict[str, str], versions: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The run's ``dag_versions``: the version it was created with (``versions``: the DAG's
    version responses by content hash). A run stores the hash of the serialized DAG it runs
    with as it starts; one not started yet starts with the DAG's current one. A version no
    longer kept leaves the list empty."""
    content_hash = run.get("dag_hash") or (dag or {}).get("hash")
    found = versions.get(str(content_hash)) if content_hash else None
    return [found] if found is not None else []


def dag_run_response(
    dag: dict[str, Any] | None,
    run: dict[str, str],
    versions: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """DAGRunResponse from a run's hash (``versions``: see :func:`run_versions`)."""
    start, end = _seconds(run.get("start_date")), _seconds(run.get("end_date"))
    logical = run.get("logical_date") or None
    note = run.get("note") or None
    try:
        conf = loads(run.get("conf") or "{}")
    except ValueError:
        conf = {}
    return {
        "dag_id": run["dag_id"],
        "dag_run_id": run["run_id"],
        "dag_display_name": (dag or {}).get("dag_display_name") or run["dag_id"],
        "dag_versions": run_versions(dag, run, versions or {}),
        "bundle_version": None,
        "conf": conf if isinstance(conf, dict) else {},
        "state": run.get("state", "queued"),
        "run_type": run_type(run.get("run_type")),
        "logical_date": logical,
        "run_after": run_after(run),
        "data_interval_start": run.get("data_interval_start") or None,
        "data_interval_end": run.get("data_interval_end") or None,
        "queued_at": iso(run.get("queued_at")),
        "start_date": iso(start),
        "end_date": iso(end) if end else None,
        "duration": (end - start) if start and end else None,
        "last_scheduling_decision": None,
        "note": note,
        "triggered_by": triggered_by(run),
        "triggering_user_name": run.get("triggered_by") or None,
        "partition_date": None,
        "partition_key": None,
    }
