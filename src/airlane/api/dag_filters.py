"""The filters and order of Airflow 3.3's DAG listing (``GET /api/v2/dags``) on formatted
DAGs (DAGResponse), with what a filter needs beside the shape: the serialized DAG (its
schedule, its assets) and its latest run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.errors import invalid
from airlane.api.inputs import query_bool, query_list
from airlane.api.listing import Order, Ranges, Searches, Shape

SEARCHES = {"dag_id": "dag_id", "dag_display_name": "dag_display_name"}
#: Airflow's SortParam of the listing (the last_run_* fields are the latest run's)
ORDER_FIELDS = (
    "dag_id",
    "dag_display_name",
    "next_dagrun",
    "state",
    "start_date",
    "last_run_state",
    "last_run_start_date",
    # (Airlane's own, kept)
    "is_paused",
    "max_active_tasks",
)
_RUN_STATES = ("queued", "running", "success", "failed")
#: the bundle Airlane's DAGs come from (not versioned)
BUNDLE_NAME = "dags-folder"


@dataclass(frozen=True, slots=True)
class DagFilter:
    searches: Searches = ()
    owners: tuple[str, ...] = ()
    exclude_stale: bool = True
    has_import_errors: bool | None = None
    bundle_name: str | None = None
    bundle_version: str | None = None
    is_favorite: bool | None = None
    #: the asking user's favourite DAGs (read when is_favorite is set)
    favorites: frozenset[str] = frozenset()
    has_asset_schedule: bool | None = None
    asset_dependency: str | None = None
    timetable_types: frozenset[str] = frozenset()
    #: filters on the DAG's latest run (Airflow's max_run_filters)
    last_run_state: str | None = None
    run_states: frozenset[str] = frozenset()
    run_ranges: Ranges = ()
    order: Order = (("dag_id", False),)
    #: whether a cron or timedelta schedule without its own choice has data intervals
    data_intervals_default: bool = False

    @property
    def needs_runs(self) -> bool:
        by_run = {"last_run_state", "last_run_start_date"} & {name for name, _ in self.order}
        return bool(self.last_run_state or self.run_states or self.run_ranges or by_run)

    def keeps(self, shape: Shape, dag: Mapping[str, Any], last_run: Shape | None) -> bool:
        return (
            listing.keeps(shape, self.searches)
            and (not self.owners or _any_owner(shape, self.owners))
            and not (self.exclude_stale and shape["is_stale"])
            and (
                self.has_import_errors is None
                or shape["has_import_errors"] is self.has_import_errors
            )
            and (self.bundle_name is None or self.bundle_name == BUNDLE_NAME)
            and self.bundle_version is None  # (Airlane's bundle is not versioned)
            and (
                self.is_favorite is None or (shape["dag_id"] in self.favorites) is self.is_favorite
            )
            and (
                self.has_asset_schedule is None or _asset_scheduled(dag) is self.has_asset_schedule
            )
            and (self.asset_dependency is None or _depends_on(dag, self.asset_dependency))
            and (
                not self.timetable_types
                or timetable_type(dag, self.data_intervals_default) in self.timetable_types
            )
            and self._run_keeps(last_run)
        )

    def _run_keeps(self, run: Shape | None) -> bool:
        if not (self.last_run_state or self.run_states or self.run_ranges):
            return True
        if run is None:  # (no latest run: none of its filters holds)
            return False
        return (
            (self.last_run_state is None or run["state"] == self.last_run_state)
            and (not self.run_states or run["state"] in self.run_states)
            and listing.in_ranges(run, self.run_ranges)
        )


def from_query(request: web.Request, data_intervals_default: bool = False) -> DagFilter:
    """The filter the query asks for (422s naming the parameter, 400 for an order)."""
    last_state = request.query.get("last_dag_run_state")
    if last_state is not None and last_state not in _RUN_STATES:
        raise invalid("query", "last_dag_run_state", _states_message(), last_state)
    run_states = query_list(request, "dag_run_state")
    for state in run_states:
        if state not in _RUN_STATES:
            raise invalid("query", "dag_run_state", _states_message(), state)
    ranges = listing.date_ranges(request, ("dag_run_start_date", "dag_run_end_date"))
    run_ranges = tuple(
        (name.removeprefix("dag_run_"), compare, bound) for name, compare, bound in ranges
    )
    return DagFilter(
        searches=listing.searches(request, SEARCHES),
        owners=tuple(query_list(request, "owners")),
        exclude_stale=query_bool(request, "exclude_stale") is not False,
        has_import_errors=query_bool(request, "has_import_errors"),
        bundle_name=request.query.get("bundle_name"),
        bundle_version=request.query.get("bundle_version"),
        is_favorite=query_bool(request, "is_favorite"),
        has_asset_schedule=query_bool(request, "has_asset_schedule"),
        asset_dependency=request.query.get("asset_dependency"),
        timetable_types=frozenset(query_list(request, "timetable_type")),
        last_run_state=last_state,
        run_states=frozenset(run_states),
        run_ranges=run_ranges,
        order=listing.query_order(request, ORDER_FIELDS, ["dag_id"]),
        data_intervals_default=data_intervals_default,
    )


def value_of(shape: Shape, name: str, last_run: Shape | None) -> Any:
    """The DAG's value of a field its order names (``state``/``start_date``: its latest
    run's, as Airflow's join gives them)."""
    if name in ("last_run_state", "state"):
        return (last_run or {}).get("state")
    if name in ("last_run_start_date", "start_date"):
        return (last_run or {}).get("start_date")
    if name == "next_dagrun":
        return shape.get("next_dagrun_logical_date") or shape.get("next_dagrun_run_after")
    return shape.get(name)


def timetable_type(dag: Mapping[str, Any], data_intervals_default: bool = False) -> str:
    """Airflow's ``timetable_type`` of the DAG (its timetable's class name; a custom one's
    import path)."""
    schedule = dag.get("schedule") or {}
    kind = schedule.get("kind", "none")
    expression = schedule.get("expression")
    chosen = schedule.get("data_intervals")
    intervals = data_intervals_default if chosen is None else bool(chosen)
    if kind == "custom":
        return str(schedule.get("class"))
    if kind == "preset" and expression in ("@once", "@continuous"):
        return "OnceTimetable" if expression == "@once" else "ContinuousTimetable"
    names = {
        "none": "NullTimetable",
        "assets": "AssetTriggeredTimetable",
        "asset_or_time": "AssetOrTimeSchedule",
        "events": "EventsTimetable",
        "multi_cron": "MultipleCronTriggerTimetable",
        "cron": "CronDataIntervalTimetable" if intervals else "CronTriggerTimetable",
        "preset": "CronDataIntervalTimetable" if intervals else "CronTriggerTimetable",
        "timedelta": "DeltaDataIntervalTimetable" if intervals else "DeltaTriggerTimetable",
    }
    return names.get(str(kind), str(kind))


def _any_owner(shape: Shape, owners: tuple[str, ...]) -> bool:
    """Airflow's ``owners``: any of them a case-insensitive substring of the DAG's owners."""
    text = ", ".join(shape.get("owners") or ()).lower()
    return any(owner.lower() in text for owner in owners)


def _asset_scheduled(dag: Mapping[str, Any]) -> bool:
    return (dag.get("schedule") or {}).get("kind") in ("assets", "asset_or_time")


def _depends_on(dag: Mapping[str, Any], wanted: str) -> bool:
    """Whether an asset the DAG's schedule names has ``wanted`` in its name or uri (any
    case, literally)."""
    schedule = dag.get("schedule") or {}
    needle = wanted.lower()
    return any(
        needle in str(asset.get("name", "")).lower() or needle in str(asset.get("uri", "")).lower()
        for asset in schedule.get("assets") or ()
    )


def _states_message() -> str:
    return "Input should be " + ", ".join(f"'{s}'" for s in _RUN_STATES)
