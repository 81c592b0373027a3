"""Airlane's records in the JSON shapes of Airflow 3's public API (pure functions).

Field names and which of them are required follow Airflow's OpenAPI document (the models of
``apache-airflow-client`` 3.x are generated from it); fields for features Airlane does not
have (bundles, triggerers, executors) carry Airflow's empty values.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from airlane.engine.dag_spec import DEFAULT_MAX_ACTIVE_TASKS, DagSpec
from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta

# (re-exported: the API's modules take them from here)
from airlane.service.run_shape import dag_run_response as dag_run_response
from airlane.service.run_shape import iso as iso
from airlane.service.run_shape import run_after as run_after
from airlane.service.run_shape import run_type as run_type
from airlane.service.run_shape import run_versions as run_versions
from airlane.service.run_shape import triggered_by as triggered_by

BUNDLE_NAME = "dags-folder"
_TI_NAMESPACE = uuid.UUID("6f1c3a52-5c0e-4b7e-9f57-3b8f0c2d9a10")
_VERSION_NAMESPACE = uuid.UUID("0b6f6c1e-2d1f-4c55-8a8e-5d0f2b7c9e31")


def _timetable(spec: DagSpec) -> tuple[str | None, str | None, bool]:
    if not spec.has_schedule:
        return None, "Never, external triggers only", False
    return _schedule_shown(spec.schedule)


def _schedule_shown(schedule: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    """(timetable_summary, timetable_description, timetable_periodic) of a serialized
    schedule; an asset schedule's are those of Airflow 3.1's AssetTriggeredTimetable ("Asset",
    "Triggered by assets", not periodic), an AssetOrTimeSchedule's "Asset or <the time
    part's>", "Triggered by assets or <the time part's>" and the time part's periodic."""
    kind = schedule.get("kind")
    expression = schedule.get("expression")
    if kind == "assets":
        return "Asset", "Triggered by assets", False
    if kind == "asset_or_time":
        summary, description, periodic = _schedule_shown(schedule.get("timetable") or {})
        return f"Asset or {summary}", f"Triggered by assets or {description}", periodic
    if kind == "events":  # EventsTimetable's summary and description
        return expression, schedule.get("description") or expression, True
    if kind == "custom":  # the timetable's own summary, description and periodic
        shown = schedule.get("description") or expression
        return expression, shown, bool(schedule.get("periodic", True))
    return expression, f"{kind} {expression}", True


def dag_response(
    dag: dict[str, Any], *, paused: bool, stale: bool, has_import_errors: bool
) -> dict[str, Any]:
    """DAGResponse."""
    spec = DagSpec.from_serialized(dag)
    summary, description, periodic = _timetable(spec)
    tasks = dag.get("tasks", [])
    display = spec.dag_display_name
    return {
        "dag_id": dag["dag_id"],
        "dag_display_name": display,
        "description": spec.description,
        "fileloc": dag.get("fileloc") or "",
        "relative_fileloc": dag.get("relative_fileloc"),
        "file_token": dag.get("hash", ""),
        "bundle_name": BUNDLE_NAME,
        "bundle_version": None,
        "is_paused": paused,
        "is_stale": stale,
        "has_import_errors": has_import_errors,
        "has_task_concurrency_limits": any(
            t.get("max_active_tis_per_dag") or t.get("max_active_tis_per_dagrun") for t in tasks
        ),
        "is_backfillable": periodic
        and (spec.allowed_run_types is None or "backfill" in spec.allowed_run_types),
        "last_expired": None,
        "last_parsed_time": iso(dag.get("parsed_at")),
        "last_parse_duration": None,
        "max_active_runs": dag.get("max_active_runs"),
        # as before DagSpec: a max_active_tasks of 0 is shown as the default
        "max_active_tasks": spec.max_active_tasks or DEFAULT_MAX_ACTIVE_TASKS,
        "max_consecutive_failed_dag_runs": spec.max_consecutive_failed_dag_runs,
        "next_dagrun_logical_date": None,
        "next_dagrun_data_interval_start": None,
        "next_dagrun_data_interval_end": None,
        "next_dagrun_run_after": None,
        "owners": sorted({t.get("owner") or "airflow" for t in tasks} or {"airflow"}),
        "tags": [
            {"name": tag, "dag_id": dag["dag_id"], "dag_display_name": display} for tag in spec.tags
        ],
        "timetable_summary": summary,
        "timetable_description": description,
        "timetable_partitioned": False,
        "timetable_periodic": periodic,
        "allowed_run_types": (
            None if spec.allowed_run_types is None else sorted(spec.allowed_run_types)
        ),
    }


def version_response(
    dag_id: str, display: str, number: int, content_hash: str, created_at_s: float
) -> dict[str, Any]:
    """DagVersionResponse of a DAG's ``number``-th serialized form (its id: stable, from the
    DAG, the number and the content hash)."""
    name = f"{dag_id}|{number}|{content_hash}"
    return {
        "id": str(uuid.uuid5(_VERSION_NAMESPACE, name)),
        "version_number": number,
        "dag_id": dag_id,
        "bundle_name": BUNDLE_NAME,
        "bundle_version": None,
        "created_at": iso(created_at_s),
        "dag_display_name": display,
        "bundle_url": None,
    }


def ti_id(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    return str(uuid.uuid5(_TI_NAMESPACE, f"{dag_id}|{run_id}|{task_id}|{map_index}"))


def task_instance_response(
    dag: dict[str, Any] | None,
    run: dict[str, str],
    key: tuple[str, int],
    record: TIRecord,
    meta: TIMeta,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """TaskInstanceResponse (``spec``: the task's serialized form, looked up when not given)."""
    task_id, map_index = key
    spec = spec if spec is not None else task_spec(dag, task_id) or {}
    start, end = meta.start_date, meta.end_date
    state = record.state.value
    logical = run.get("logical_date") or None
    return {
        "id": ti_id(run["dag_id"], run["run_id"], task_id, map_index),
        "task_id": task_id,
        "task_display_name": spec.get("task_display_name") or task_id,
        "dag_id": run["dag_id"],
        "dag_display_name": (dag or {}).get("dag_display_name") or run["dag_id"],
        "dag_run_id": run["run_id"],
        "dag_version": None,
        "map_index": map_index,
        "rendered_map_index": record.rendered_map_index,
        "logical_date": logical,
        "run_after": run_after(run),
        "start_date": iso(start),
        "end_date": iso(end),
        "duration": (end - start) if start and end and end >= start else None,
        "state": None if state == "none" else state,
        "try_number": record.try_number,
        "max_tries": record.max_tries,
        "hostname": meta.worker,
        "unixname": None,
        "pool": spec.get("pool", "default_pool"),
        "pool_slots": int(spec.get("pool_slots", 1)),
        "queue": spec.get("queue"),
        "priority_weight": spec.get("priority_weight"),
        "operator": spec.get("operator"),
        "operator_name": spec.get("operator"),
        "queued_when": iso(meta.queued_at),
        "scheduled_when": None,
        "pid": None,
        "executor": None,
        "executor_config": "{}",
        "note": record.note,
        "rendered_fields": {},
        "trigger": None,
        "triggerer_job": None,
    }


def task_spec(dag: dict[str, Any] | None, task_id: str) -> dict[str, Any] | None:
    for task in (dag or {}).get("tasks", []):
        if task.get("task_id") == task_id:
            return dict(task)
    return None


def import_error_response(
    index: int, filename: str, errors: list[dict[str, Any]], now_s: float
) -> dict[str, Any]:
    """ImportErrorResponse for one file (its errors, each with its line, joined)."""
    parts = []
    for error in errors:
        where = f"{error.get('filename') or filename}, line {error.get('lineno')}"
        parts.append(f"{where}: {error.get('traceback') or error.get('message') or ''}".rstrip())
    return {
        "import_error_id": index,
        "filename": filename,
        "bundle_name": BUNDLE_NAME,
        "stack_trace": "\n\n".join(parts),
        "timestamp": iso(now_s),
    }


def ti_collection(
    dag: dict[str, Any] | None,
    run: dict[str, str],
    tis: dict[tuple[str, int], tuple[TIRecord, TIMeta]],
) -> dict[str, Any]:
    """TaskInstanceCollectionResponse of one run's instances, in task then map order."""
    specs = {t["task_id"]: t for t in (dag or {}).get("tasks", [])}
    items = [
        task_instance_response(dag, run, key, *tis[key], specs.get(key[0], {}))
        for key in sorted(tis)
    ]
    return {"task_instances": items, "total_entries": len(items)}
