"""What a DAG's ``schedule`` may be, checked when the DAG is defined."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from croniter import croniter

from airlane.sdk.asset_schedule import (
    AssetOrTimeSchedule,
    describe_asset_schedule,
    is_asset_schedule,
    validate_asset_schedule,
)
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.timetables import check_custom_timetable, is_custom_timetable, is_timetable

PRESETS: dict[str, str | None] = {
    "@once": None,
    "@continuous": None,
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def validate_schedule(schedule: Any) -> None:
    """Raise, naming the value, unless ``schedule`` is None, a preset, a cron, a timedelta or
    one of Airflow's cron and delta timetables, or a custom ``Timetable`` (its ``validate()``),
    or assets (``sdk.asset_schedule``)."""
    if is_asset_schedule(schedule):
        validate_asset_schedule(schedule)
        if isinstance(schedule, AssetOrTimeSchedule):
            validate_schedule(schedule.timetable)
        return
    if is_timetable(schedule):
        check_custom_timetable(schedule)
        return
    if is_custom_timetable(schedule):
        schedule.validate()
        return
    if schedule is None or isinstance(schedule, timedelta):
        if isinstance(schedule, timedelta) and schedule.total_seconds() <= 0:
            raise AirflowException(f"schedule must be a positive interval, got {schedule!r}")
        return
    if isinstance(schedule, str):
        if schedule in PRESETS or croniter.is_valid(schedule):
            return
        raise AirflowException(f"Invalid schedule {schedule!r}: not a preset nor a cron expression")
    if hasattr(schedule, "months") and hasattr(schedule, "days"):  # dateutil relativedelta
        return
    raise AirflowException(
        f"Unsupported schedule {schedule!r} ({type(schedule).__name__}): use a cron string, "
        "a timedelta, a preset or a timetable (a subclass of airflow.timetables.base.Timetable)"
    )


def describe_custom(timetable: Any) -> dict[str, Any]:
    """A custom timetable as JSON: its class path and ``serialize()`` output (the scheduler
    re-creates it with ``deserialize()``), with what the UI and API show of it."""
    cls = type(timetable)
    return {
        "kind": "custom",
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "value": timetable.serialize(),
        "expression": str(timetable.summary),
        "description": str(timetable.description or ""),
        "periodic": bool(timetable.periodic),
        "can_be_scheduled": bool(timetable.can_be_scheduled),
    }


def describe_schedule(schedule: Any) -> dict[str, Any]:
    """The schedule as JSON: ``{"kind": none|preset|cron|timedelta|relativedelta|custom, ...}``."""
    if schedule is None:
        return {"kind": "none", "expression": None}
    assets = describe_asset_schedule(schedule, describe_schedule)
    if assets is not None:
        return assets
    if is_custom_timetable(schedule):
        return describe_custom(schedule)
    if is_timetable(schedule):
        described: dict[str, Any] = schedule.describe()
        return described
    if isinstance(schedule, timedelta):
        return {
            "kind": "timedelta",
            "seconds": schedule.total_seconds(),
            "expression": str(schedule),
        }
    if isinstance(schedule, str):
        if schedule in PRESETS:
            return {"kind": "preset", "expression": schedule, "cron": PRESETS[schedule]}
        return {"kind": "cron", "expression": schedule}
    fields = {
        name: getattr(schedule, name)
        for name in ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
        if getattr(schedule, name, 0)
    }
    fields.pop("weeks", None)  # relativedelta folds weeks into days
    return {"kind": "relativedelta", "expression": repr(schedule), "fields": fields}
