"""A DAG scheduled on assets: ``schedule=[a, b]``, ``schedule=a & (b | c)``, or
``AssetOrTimeSchedule`` (assets or a time table, whichever comes first), and their JSON form.

The serialized schedule (``/work/wt/ASSETS8.md``)::

    {"kind": "assets", "expression": "Asset", "description": "Triggered by assets",
     "condition": <asset_condition tree>, "asset_expression": <Airflow's as_expression()>,
     "assets": [asset refs], "aliases": [alias refs], "periodic": false}

``AssetOrTimeSchedule`` gives kind ``asset_or_time`` with ``timetable``: the time part as
``describe_schedule`` gives it (what the time scheduler reads).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from airlane.sdk.assets import AssetAll, BaseAsset, as_asset_condition, unique_refs
from airlane.sdk.exceptions import AirflowException

#: Airflow's AssetTriggeredTimetable: summary and description
ASSET_SUMMARY = "Asset"
ASSET_DESCRIPTION = "Triggered by assets"


class AssetOrTimeSchedule:
    """Runs on the asset condition and on the time table's schedule (Airflow's
    ``airflow.timetables.assets.AssetOrTimeSchedule``)."""

    def __init__(self, *, timetable: Any, assets: Collection[BaseAsset] | BaseAsset) -> None:
        self.timetable = timetable
        if isinstance(assets, BaseAsset):
            self.asset_condition: BaseAsset = assets
        else:
            self.asset_condition = AssetAll(*assets)
        #: the time part's own description ("" when it has none, as Airlane's cron tables)
        self.time_description = str(getattr(timetable, "description", "") or "")
        self.description = f"Triggered by assets or {self.time_description}"
        self.periodic = bool(getattr(timetable, "periodic", True))

    def validate(self) -> None:
        if isinstance(self.timetable, AssetOrTimeSchedule):
            raise AirflowException("cannot nest asset timetables")
        if not isinstance(self.asset_condition, BaseAsset):
            raise AirflowException("all elements in 'assets' must be assets")

    def __repr__(self) -> str:
        return f"AssetOrTimeSchedule(timetable={self.timetable!r}, assets={self.asset_condition!r})"


def DatasetOrTimeSchedule(*, timetable: Any, datasets: Any) -> AssetOrTimeSchedule:
    """Airflow 2's name (``airflow.timetables.datasets``)."""
    return AssetOrTimeSchedule(timetable=timetable, assets=datasets)


def is_asset_schedule(schedule: Any) -> bool:
    return isinstance(schedule, AssetOrTimeSchedule) or as_asset_condition(schedule) is not None


def _assets_part(condition: BaseAsset) -> dict[str, Any]:
    return {
        "condition": condition.as_condition(),
        "asset_expression": condition.as_expression(),
        "assets": unique_refs(condition.iter_assets()),
        "aliases": unique_refs(condition.iter_asset_aliases()),
    }


def describe_asset_schedule(
    schedule: Any, describe_time: Callable[[Any], dict[str, Any]]
) -> dict[str, Any] | None:
    """The JSON form of an asset schedule, None for any other schedule (``describe_time``
    describes the time part of an ``AssetOrTimeSchedule``)."""
    if isinstance(schedule, AssetOrTimeSchedule):
        timetable = describe_time(schedule.timetable)
        time_text = schedule.time_description or timetable.get("expression")
        return {
            "kind": "asset_or_time",
            "expression": f"{ASSET_SUMMARY} or {timetable.get('expression')}",
            "description": f"Triggered by assets or {time_text}",
            "periodic": schedule.periodic,
            **_assets_part(schedule.asset_condition),
            "timetable": timetable,
        }
    condition = as_asset_condition(schedule)
    if condition is None:
        return None
    return {
        "kind": "assets",
        "expression": ASSET_SUMMARY,
        "description": ASSET_DESCRIPTION,
        "periodic": False,
        **_assets_part(condition),
    }


def validate_asset_schedule(schedule: Any) -> None:
    """Check the condition can be serialized (and the time part of ``AssetOrTimeSchedule``)."""
    if isinstance(schedule, AssetOrTimeSchedule):
        schedule.validate()
        condition: BaseAsset | None = schedule.asset_condition
    else:
        condition = as_asset_condition(schedule)
    if condition is not None:
        try:
            tree = condition.as_condition()
        except ValueError as err:
            raise AirflowException(f"Invalid asset schedule {schedule!r}: {err}") from None
        if _names_a_uri(tree):
            raise AirflowException(
                "Airlane cannot schedule a DAG on Asset.ref(uri=...) yet (its events are matched "
                "by asset name): use Asset.ref(name=...) or the Asset itself"
            )


def _names_a_uri(tree: Any) -> bool:
    """Whether a condition tree has an ``Asset.ref(uri=...)`` leaf."""
    if not isinstance(tree, dict):
        return False
    return "asset_uri" in tree or any(
        _names_a_uri(child) for key in ("all", "any") for child in tree.get(key, ())
    )


__all__ = ["AssetOrTimeSchedule", "DatasetOrTimeSchedule"]
