"""The options of Airflow's ``POST /dags/{dag_id}/clearTaskInstances`` that choose runs or
refuse a clear, apart from the handler (api/task_instances.py): which runs a date window or
``include_past``/``include_future`` takes, and Airflow's refusals (its messages)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from airlane.api.clear_across import RunClear
from airlane.api.errors import ApiError, invalid
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.timezone import coerce_datetime

_FINISHED_RUN = frozenset({"success", "failed"})


def check_body(body: dict[str, Any], start: datetime | None, end: datetime | None) -> None:
    """ClearTaskInstancesBody's validator (422s naming the field)."""
    if body.get("only_failed") and body.get("only_running"):
        raise invalid("body", "only_running", "only_failed and only_running both are set to True")
    if start is not None and end is not None and start > end:
        raise invalid("body", "end_date", "end_date is sooner than start_date")
    for name, value in (("start_date", start), ("end_date", end)):
        if value is not None and body.get("dag_run_id"):
            raise invalid("body", name, f"Exactly one of dag_run_id or {name} must be provided")
    if isinstance(body.get("task_ids"), list) and not body["task_ids"]:
        raise invalid("body", "task_ids", "task_ids list should have at least 1 element.")


def logical(run: dict[str, str]) -> datetime | None:
    return coerce_datetime(run.get("logical_date") or None)


def in_window(run: dict[str, str], start: datetime | None, end: datetime | None) -> bool:
    """Whether the run's logical date lies in [start, end] (either end open when None); a run
    without one (asset-triggered) only when the window is open at both ends."""
    when = logical(run)
    if when is None:
        return start is None and end is None
    return (start is None or when >= start) and (end is None or when <= end)


def window_of(
    run: dict[str, str], past: bool, future: bool
) -> tuple[datetime | None, datetime | None]:
    """The window of ``include_past``/``include_future`` around ``run`` (Airflow: its logical
    date, open towards the past and/or the future; 400 for a run without one)."""
    when = logical(run)
    if when is None:
        raise ApiError(
            400,
            "Cannot use include_past or include_future with no logical_date(e.g. manually or "
            "asset-triggered).",
        )
    return (None if past else when), (None if future else when)


def refuse_running(clears: Iterable[RunClear]) -> None:
    """``prevent_running_task``: Airflow's 409 when a chosen instance is running."""
    for one in clears:
        if any(record.state is TaskInstanceState.RUNNING for record, _ in one.chosen.values()):
            raise ApiError(
                409,
                "AirflowClearRunningTaskException: Disable 'prevent_running_task' to proceed, "
                "or wait until the task is not running, queued, or scheduled state.",
            )


def refuse_unreset(clears: Iterable[RunClear]) -> None:
    """``reset_dag_runs: false`` leaves a finished run finished in Airflow, its cleared
    instances never scheduled; Airlane runs a cleared run again, so it refuses that."""
    for one in clears:
        if one.chosen and one.run.get("state") in _FINISHED_RUN:
            raise invalid(
                "body",
                "reset_dag_runs",
                f"run {one.run.get('run_id')} has ended: Airlane runs a cleared run again "
                "(reset_dag_runs must be true to clear it)",
                False,
            )


def refuse_other_version(clears: Iterable[RunClear], field: str) -> None:
    """``run_on_latest_version``: Airlane reruns a cleared instance on its run's DAG version; a
    run on an older version than its DAG's latest (each ``RunClear.dag``) cannot move to it."""
    for one in clears:
        pinned, latest = one.run.get("dag_hash"), one.dag.get("hash")
        if one.chosen and pinned and latest and pinned != latest:
            raise invalid(
                "body",
                field,
                f"run {one.run.get('run_id')} runs an older version of its DAG: Airlane reruns "
                "cleared tasks on the version their run started with",
                True,
            )
