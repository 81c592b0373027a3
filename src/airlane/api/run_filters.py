"""The filters and order of Airflow 3.3's run listing (``GET /dags/{dag_id}/dagRuns``, ``~``
for every DAG) on formatted runs (DAGRunResponse): states and run types, date and duration
ranges, ``conf_contains``, ``dag_version``, ``bundle_version``, the ``*_pattern`` and
``*_prefix_pattern`` searches and a repeatable ``order_by`` (api/listing.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.errors import ApiError, invalid
from airlane.api.inputs import parse_datetime, query_list
from airlane.api.listing import Order, Ranges, Searches, Shape
from airlane.sdk.timetable_base import DagRunType

DATES = ("run_after", "logical_date", "start_date", "end_date", "updated_at")
SEARCHES = {
    "run_id": "dag_run_id",
    "dag_id": "dag_id",
    "triggering_user_name": "triggering_user_name",
    "partition_key": "partition_key",
}
#: Airflow's SortParam of the listing (``dag_run_id`` its alias of ``run_id``)
ORDER_FIELDS = (
    "id",
    "state",
    "dag_id",
    "run_id",
    "dag_run_id",
    "logical_date",
    "partition_date",
    "run_after",
    "start_date",
    "end_date",
    "updated_at",
    "conf",
    "duration",
)
#: Airlane's order when none is asked for: newest first (its runs' sorted set)
DEFAULT_ORDER: Order = (("run_after", True),)
#: what makes an order total: the fields that name a run
TAIL = ("dag_id", "dag_run_id")
_PARTITION_DATES = ("partition_date_gte", "partition_date_lte")


@dataclass(frozen=True, slots=True)
class RunFilter:
    states: frozenset[str] = frozenset()
    run_types: frozenset[str] = frozenset()
    ranges: Ranges = ()
    searches: Searches = ()
    conf_contains: str | None = None
    versions: frozenset[int] = frozenset()
    #: the bundle version asked for (Airlane's runs have none: any value matches nothing)
    bundle_version: str | None = None
    order: Order = DEFAULT_ORDER

    @property
    def narrows(self) -> bool:
        """Whether it keeps fewer runs than all."""
        return bool(
            self.states
            or self.run_types
            or self.ranges
            or self.searches
            or self.conf_contains is not None
            or self.versions
            or self.bundle_version is not None
        )

    def keeps(self, shape: Shape) -> bool:
        return (
            (not self.states or shape["state"] in self.states)
            and (not self.run_types or shape["run_type"] in self.run_types)
            and listing.in_ranges(shape, self.ranges, value_of)
            and listing.keeps(shape, self.searches, value_of)
            and (self.conf_contains is None or self.conf_contains in value_of(shape, "conf"))
            and (not self.versions or value_of(shape, "version_number") in self.versions)
            and self.bundle_version is None
        )


def from_query(request: web.Request) -> RunFilter:
    """The filter the query asks for (422s naming the parameter, Airflow's 400 for an order
    the listing cannot sort by)."""
    run_types = set(query_list(request, "run_type"))
    for kind in run_types - {k.value for k in DagRunType}:
        message = "Input should be " + ", ".join(f"'{k.value}'" for k in DagRunType)
        raise invalid("query", "run_type", message, kind)
    for name in _PARTITION_DATES:
        raw = request.query.get(name)
        if raw is not None:
            try:
                date.fromisoformat(raw)
            except ValueError:
                raise invalid("query", name, "Input should be a valid date", raw) from None
    ranges = listing.date_ranges(request, DATES) + listing.number_ranges(request, ["duration"])
    order = listing.query_order(request, ORDER_FIELDS)
    return RunFilter(
        states=frozenset(request.query.getall("state", [])),
        run_types=frozenset(run_types),
        ranges=ranges,
        searches=listing.searches(request, SEARCHES),
        conf_contains=request.query.get("conf_contains") or None,
        versions=frozenset(listing.query_ints(request, "dag_version")),
        bundle_version=request.query.get("bundle_version"),
        order=order or DEFAULT_ORDER,
    )


def refuse_partition_dates(request: web.Request, dag_id: str) -> None:
    """Airflow's 400s for ``partition_date_gte``/``_lte``: they need one DAG, and a
    partitioned one (Airlane has no partitioned timetables)."""
    if not any(name in request.query for name in _PARTITION_DATES):
        return
    if dag_id == "~":
        raise ApiError(400, "partition_date_gte and partition_date_lte require a specific dag_id.")
    raise ApiError(
        400,
        f"Dag with dag_id: '{dag_id}' is not partitioned; "
        "partition_date_gte and partition_date_lte are not supported.",
    )


def value_of(shape: Shape, name: str) -> Any:
    """The run's value of a field its filters and orders name."""
    if name == "id":  # (Airlane's runs have no row id: the order they were made for)
        return shape.get("run_after")
    if name == "run_id":
        return shape.get("dag_run_id")
    if name == "conf":  # (its JSON text, as Airflow's database writes it)
        return json.dumps(shape.get("conf") or {})
    if name == "version_number":
        versions = shape.get("dag_versions") or [{}]
        return versions[-1].get("version_number")
    if name == "updated_at":  # its latest change Airlane keeps a time of
        times = [shape.get(n) for n in ("queued_at", "start_date", "end_date")]
        found = [listing.as_datetime(t) for t in times if t]
        return max(found).isoformat() if found else None
    return shape.get(name)


#: the batch listing's body (Airflow's DAGRunsBatchBody)
BATCH_RANGES = ("run_after", "logical_date", "start_date", "end_date", "duration")
BATCH_FIELDS = frozenset(
    {
        "order_by",
        "page_offset",
        "page_limit",
        "dag_ids",
        "states",
        "conf_contains",
        *(f"{name}_{bound}" for name in BATCH_RANGES for bound in listing.BOUNDS),
    }
)
#: its SortParam
BATCH_ORDER = (
    "id",
    "state",
    "dag_id",
    "run_after",
    "logical_date",
    "run_id",
    "dag_run_id",
    "start_date",
    "end_date",
    "updated_at",
    "conf",
)


def from_body(body: dict[str, Any]) -> RunFilter:
    """The filter a DAGRunsBatchBody asks for (422s naming the field, 400 for an order)."""
    ranges: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
    for name in BATCH_RANGES:
        for bound, compare in listing.BOUNDS.items():
            field = f"{name}_{bound}"
            if body.get(field) is None:
                continue
            value = body[field]
            if name == "duration":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise invalid("body", field, "Input should be a valid number", value)
                ranges.append((name, compare, float(value)))
            else:
                ranges.append((name, compare, parse_datetime(value, "body", field)))
    states = body.get("states")
    if states is not None and (
        not isinstance(states, list)
        or not all(s is None or (isinstance(s, str) and s in _STATES) for s in states)
    ):
        raise invalid("body", "states", "Input should be a list of run states", states)
    conf = body.get("conf_contains")
    if conf is not None and not isinstance(conf, str):
        raise invalid("body", "conf_contains", "Input should be a valid string", conf)
    raw = body.get("order_by")
    if raw is not None and not isinstance(raw, str):
        raise invalid("body", "order_by", "Input should be a valid string", raw)
    return RunFilter(
        # (a null state is no run's, as Airflow's IN (NULL) matches none)
        states=frozenset(s if s is not None else "none" for s in states or ()),
        ranges=tuple(ranges),
        conf_contains=conf,
        order=listing.order_pairs([raw] if raw else [], BATCH_ORDER) or (("id", False),),
    )


_STATES = frozenset({"queued", "running", "success", "failed"})
