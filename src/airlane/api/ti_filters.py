"""The filters and order of Airflow's listings of task instances beyond ids and states: the
batch listing's body (``POST .../taskInstances/list``, TaskInstancesBatchBody) and the GET
listing's query (``GET .../taskInstances``): date and duration ranges (``_gte``, ``_gt``,
``_lte``, ``_lt``), lists of accepted values, ``*_pattern`` (SQL ILIKE, ``|`` for or) and
``*_prefix_pattern`` searches, and ``order_by``. They act on the formatted instances
(api/shapes.py), as Airflow's act on its rows: an instance without the value (a start date
before it started) matches no range and no search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.errors import invalid
from airlane.api.inputs import opt_datetime
from airlane.api.listing import BOUNDS, CursorPage, Order, Ranges, Searches, Shape

#: values of an instance's run that its shape does not carry (``data_interval_start``...),
#: by (dag id, run id)
RunValues = Mapping[tuple[str, str], Mapping[str, Any]]

#: the fields a range may bound, and whether they are dates (else numbers)
RANGES = {
    "run_after": True,
    "logical_date": True,
    "start_date": True,
    "end_date": True,
    "updated_at": True,
    "duration": False,
}
#: the ranges of the batch body (it has no ``updated_at``)
_BODY_RANGES = ("run_after", "logical_date", "start_date", "end_date", "duration")
#: every range field name of the body (``start_date_gte``...)
RANGE_FIELDS = tuple(f"{name}_{bound}" for name in _BODY_RANGES for bound in BOUNDS)
LISTS = ("pool", "queue", "executor")
#: the GET listing's repeatable filters, and whether their values are integers
QUERY_LISTS = {
    "pool": False,
    "queue": False,
    "executor": False,
    "operator": False,
    "version_number": True,
    "try_number": True,
    "map_index": True,
}
#: the GET listing's searches: query name (``<name>_pattern``, ``<name>_prefix_pattern``) and
#: the field searched
SEARCHES = {
    "task_display_name": "task_display_name",
    "dag_id": "dag_id",
    "run_id": "dag_run_id",
    "pool_name": "pool",
    "queue_name": "queue",
    "operator_name": "operator",
    "rendered_map_index": "rendered_map_index",
}
#: Airflow's SortParam of the batch listing
ORDER_FIELDS = ("id", "state", "duration", "start_date", "end_date", "map_index")
#: and of the GET listing
QUERY_ORDER_FIELDS = (
    *ORDER_FIELDS,
    "try_number",
    "logical_date",
    "run_after",
    "data_interval_start",
    "data_interval_end",
    "rendered_map_index",
    "operator",
)
#: what makes an order total: the fields that name an instance
_TAIL = ("dag_id", "dag_run_id", "task_id", "map_index")


@dataclass(frozen=True, slots=True)
class TIFilter:
    ranges: Ranges = ()
    #: (field, accepted values)
    lists: tuple[tuple[str, frozenset[Any]], ...] = ()
    searches: Searches = ()
    order: Order = ()

    @property
    def active(self) -> bool:
        return bool(self.ranges or self.lists or self.searches or self.order)

    def keeps(self, shape: Shape, runs: RunValues | None = None) -> bool:
        value = partial(value_of, runs=runs)
        return (
            listing.in_ranges(shape, self.ranges, value)
            and all(value(shape, name) in accepted for name, accepted in self.lists)
            and listing.keeps(shape, self.searches, value)
        )

    def apply(self, shapes: Iterable[Shape], runs: RunValues | None = None) -> list[Shape]:
        kept = [shape for shape in shapes if self.keeps(shape, runs)]
        return listing.sort_by(kept, _expanded(self.order), partial(value_of, runs=runs))


def from_body(body: dict[str, Any]) -> TIFilter:
    """The filter a batch body asks for (422s naming the field, as Airflow's model; 400 for
    an order it cannot sort by)."""
    ranges = []
    for name in _BODY_RANGES:
        for bound, compare in BOUNDS.items():
            field = f"{name}_{bound}"
            if body.get(field) is None:
                continue
            limit = opt_datetime(body, field) if RANGES[name] else _number(body, field)
            ranges.append((name, compare, limit))
    lists = []
    for name in LISTS:
        values = body.get(name)
        if values is None or values == []:  # (Airflow's FilterParam skips an empty list)
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise invalid("body", name, "Input should be a valid list", values)
        lists.append((name, frozenset(values)))
    raw = body.get("order_by")
    if raw is not None and not isinstance(raw, str):
        raise invalid("body", "order_by", "Input should be a valid string", raw)
    order = listing.order_pairs([raw] if raw else [], ORDER_FIELDS)
    return TIFilter(tuple(ranges), tuple(lists), (), order)


def from_query(request: web.Request) -> TIFilter:
    """The filter the GET listing's query asks for (422s naming the parameter, 400 for an
    order it cannot sort by, as Airflow)."""
    dates = [name for name, is_date in RANGES.items() if is_date]
    ranges = listing.date_ranges(request, dates) + listing.number_ranges(request, ["duration"])
    lists = []
    for name, is_int in QUERY_LISTS.items():
        values: list[Any] = (
            listing.query_ints(request, name)
            if is_int
            else [v for v in request.query.getall(name, []) if v != ""]
        )
        if values:
            lists.append((name, frozenset(values)))
    searches = listing.searches(request, SEARCHES)
    order = listing.query_order(request, QUERY_ORDER_FIELDS)
    return TIFilter(ranges, tuple(lists), searches, order)


def value_of(shape: Shape, name: str, runs: RunValues | None = None) -> Any:
    """The instance's value of a field its filters and orders name."""
    if name in shape:
        return shape[name]
    if name == "version_number":
        return (shape.get("dag_version") or {}).get("version_number")
    if name == "updated_at":  # its latest change Airlane keeps a time of
        times = [shape.get(n) for n in ("queued_when", "start_date", "end_date")]
        found = [listing.as_datetime(t) for t in times if t]
        return max(found).isoformat() if found else None
    run = (runs or {}).get((shape.get("dag_id", ""), shape.get("dag_run_id", "")), {})
    return run.get(name)


def cursor_page(
    shapes: list[Shape], order: Order, cursor: str, limit: int, runs: RunValues | None = None
) -> CursorPage:
    """A keyset page of instances (:func:`listing.cursor_page`), the order made total by the
    fields that name an instance."""
    value = partial(value_of, runs=runs)
    return listing.cursor_page(shapes, _expanded(order), _TAIL, cursor, limit, value)


def _expanded(order: Order) -> Order:
    """``rendered_map_index`` sorts by it, then by ``map_index``, as in Airflow."""
    pairs: list[tuple[str, bool]] = []
    for name, descending in order:
        pairs.append((name, descending))
        if name == "rendered_map_index":
            pairs.append(("map_index", descending))
    return tuple(pairs)


def _number(body: dict[str, Any], field: str) -> float:
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid("body", field, "Input should be a valid number", value)
    return float(value)


def group_tasks(dag: Mapping[str, Any], group_id: str) -> frozenset[str] | None:
    """The ids of the tasks in a task group of a serialized DAG, its nested groups' too (None:
    no such group)."""
    parents = {g["group_id"]: g.get("parent") for g in dag.get("task_groups") or ()}
    if group_id not in parents:
        return None
    inside = set()
    for task in dag.get("tasks") or ():
        group = task.get("task_group")
        while group is not None and group != group_id:
            group = parents.get(group)
        if group == group_id:
            inside.add(task["task_id"])
    return frozenset(inside)


def is_mapped(dag: Mapping[str, Any], task_id: str) -> bool:
    """Whether the task of a serialized DAG expands: mapped itself or in a mapped group."""
    groups = {g["group_id"]: g for g in dag.get("task_groups") or ()}
    for task in dag.get("tasks") or ():
        if task.get("task_id") != task_id:
            continue
        if task.get("mapped"):
            return True
        group = task.get("task_group")
        while group is not None:
            if (groups.get(group) or {}).get("mapped"):
                return True
            group = (groups.get(group) or {}).get("parent")
    return False
