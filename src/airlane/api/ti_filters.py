"""The filters and order of Airflow's batch listing of task instances
(``POST .../taskInstances/list``, TaskInstancesBatchBody) beyond ids and states: date and
duration ranges (``_gte``, ``_gt``, ``_lte``, ``_lt``), pools, queues, executors and
``order_by``. They act on the formatted instances (api/shapes.py), as Airflow's act on its
rows: an instance without the value (a start date before it started) matches no range."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from airlane.api.asset_shapes import sort_shapes
from airlane.api.errors import invalid
from airlane.api.inputs import opt_datetime, parse_datetime

Shape = dict[str, Any]

#: the fields a range may bound, and whether they are dates (else numbers)
RANGES = {
    "run_after": True,
    "logical_date": True,
    "start_date": True,
    "end_date": True,
    "duration": False,
}
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
}
#: every range field name of the body (``start_date_gte``...)
RANGE_FIELDS = tuple(f"{name}_{bound}" for name in RANGES for bound in _BOUNDS)
LISTS = ("pool", "queue", "executor")
#: Airflow's SortParam of the batch listing
ORDER_FIELDS = ("id", "state", "duration", "start_date", "end_date", "map_index")


@dataclass(frozen=True, slots=True)
class TIFilter:
    #: (field, comparison, bound): the instance's value compared with the bound
    ranges: tuple[tuple[str, Callable[[Any, Any], bool], Any], ...] = ()
    #: (field, accepted values)
    lists: tuple[tuple[str, frozenset[str]], ...] = ()
    #: (field, descending)
    order: tuple[str, bool] | None = None

    @property
    def active(self) -> bool:
        return bool(self.ranges or self.lists or self.order)

    def keeps(self, shape: Shape) -> bool:
        return in_ranges(shape, self.ranges) and all(
            shape.get(name) in accepted for name, accepted in self.lists
        )

    def apply(self, shapes: Iterable[Shape]) -> list[Shape]:
        kept = [shape for shape in shapes if self.keeps(shape)]
        return sort_shapes(kept, [self.order]) if self.order else kept


def from_body(body: dict[str, Any]) -> TIFilter:
    """The filter a batch body asks for (422s naming the field, as Airflow's model)."""
    ranges = []
    for name, is_date in RANGES.items():
        for bound, compare in _BOUNDS.items():
            field = f"{name}_{bound}"
            if body.get(field) is None:
                continue
            limit = opt_datetime(body, field) if is_date else _number(body, field)
            ranges.append((name, compare, limit))
    lists = []
    for name in LISTS:
        values = body.get(name)
        if values is None or values == []:  # (Airflow's FilterParam skips an empty list)
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise invalid("body", name, "Input should be a valid list", values)
        lists.append((name, frozenset(values)))
    return TIFilter(tuple(ranges), tuple(lists), _order(body.get("order_by")))


Ranges = tuple[tuple[str, Callable[[Any, Any], bool], Any], ...]


def in_ranges(shape: Shape, ranges: Ranges) -> bool:
    """Whether the shape's values lie in every range (a missing value in none)."""
    for name, compare, bound in ranges:
        value = _value(shape.get(name), RANGES.get(name, True))
        if value is None or not compare(value, bound):
            return False
    return True


def date_ranges_from_query(request: web.Request, names: Iterable[str]) -> Ranges:
    """``<name>_gte`` (``_gt``, ``_lte``, ``_lt``) query bounds on the dates ``names`` (422s
    naming the parameter)."""
    ranges = []
    for name in names:
        for bound, compare in _BOUNDS.items():
            raw = request.query.get(f"{name}_{bound}")
            if raw is not None:
                ranges.append((name, compare, parse_datetime(raw, "query", f"{name}_{bound}")))
    return tuple(ranges)


def _order(raw: Any) -> tuple[str, bool] | None:
    if raw is None or raw == "":  # (Airflow: an empty order_by orders nothing)
        return None
    if not isinstance(raw, str):
        raise invalid("body", "order_by", "Input should be a valid string", raw)
    name = raw.lstrip("-")
    if name not in ORDER_FIELDS:
        message = (
            f"Ordering with '{name}' is disallowed or the attribute does not exist on the model"
        )
        raise invalid("body", "order_by", message, raw)
    return name, raw.startswith("-")


def _number(body: dict[str, Any], field: str) -> float:
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid("body", field, "Input should be a valid number", value)
    return float(value)


def _value(raw: Any, is_date: bool) -> Any:
    if raw is None or not is_date:
        return raw
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
