"""The filters and order of Airflow's listings of task instances beyond ids and states: the
batch listing's body (``POST .../taskInstances/list``, TaskInstancesBatchBody) and the GET
listing's query (``GET .../taskInstances``): date and duration ranges (``_gte``, ``_gt``,
``_lte``, ``_lt``), lists of accepted values, ``*_pattern`` (SQL ILIKE, ``|`` for or) and
``*_prefix_pattern`` searches, and ``order_by``. They act on the formatted instances
(api/shapes.py), as Airflow's act on its rows: an instance without the value (a start date
before it started) matches no range and no search."""

from __future__ import annotations

import base64
import binascii
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from airlane.api.errors import ApiError, invalid
from airlane.api.inputs import opt_datetime, parse_datetime

Shape = dict[str, Any]
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
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
}
#: the ranges of the batch body (it has no ``updated_at``)
_BODY_RANGES = ("run_after", "logical_date", "start_date", "end_date", "duration")
#: every range field name of the body (``start_date_gte``...)
RANGE_FIELDS = tuple(f"{name}_{bound}" for name in _BODY_RANGES for bound in _BOUNDS)
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
#: Airflow's limit on the fields of one order_by
MAX_ORDER_FIELDS = 10
#: a cursor page's total_entries counts up to this many (Airflow's EXACT_COUNT_LIMIT)
COUNT_LIMIT = 50_000
#: what makes an order total: the fields that name an instance
_TAIL = ("dag_id", "dag_run_id", "task_id", "map_index")
_BACKWARD = "~"

Ranges = tuple[tuple[str, Callable[[Any, Any], bool], Any], ...]
Order = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class TIFilter:
    #: (field, comparison, bound): the instance's value compared with the bound
    ranges: Ranges = ()
    #: (field, accepted values)
    lists: tuple[tuple[str, frozenset[Any]], ...] = ()
    #: (field, test of its value)
    searches: tuple[tuple[str, Callable[[Any], bool]], ...] = ()
    #: (field, descending), first field first
    order: Order = ()

    @property
    def active(self) -> bool:
        return bool(self.ranges or self.lists or self.searches or self.order)

    def keeps(self, shape: Shape, runs: RunValues | None = None) -> bool:
        return (
            in_ranges(shape, self.ranges, runs)
            and all(value_of(shape, name, runs) in accepted for name, accepted in self.lists)
            and all(test(value_of(shape, name, runs)) for name, test in self.searches)
        )

    def apply(self, shapes: Iterable[Shape], runs: RunValues | None = None) -> list[Shape]:
        kept = [shape for shape in shapes if self.keeps(shape, runs)]
        return sort_by(kept, self.order, runs)


def from_body(body: dict[str, Any]) -> TIFilter:
    """The filter a batch body asks for (422s naming the field, as Airflow's model)."""
    ranges = []
    for name in _BODY_RANGES:
        for bound, compare in _BOUNDS.items():
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
    order = _order([raw] if raw else [], ORDER_FIELDS)
    return TIFilter(tuple(ranges), tuple(lists), (), order)


def from_query(request: web.Request) -> TIFilter:
    """The filter the GET listing's query asks for (422s naming the parameter, 400 for an
    order it cannot sort by, as Airflow)."""
    query = request.query
    ranges = date_ranges_from_query(request, [n for n, is_date in RANGES.items() if is_date])
    for bound, compare in _BOUNDS.items():
        name = f"duration_{bound}"
        if name in query:
            ranges += ((("duration", compare, _query_number(query[name], name))),)
    lists = []
    for name, is_int in QUERY_LISTS.items():
        values = [v for v in query.getall(name, []) if v != ""]
        if values:
            accepted = [_query_int(v, name) for v in values] if is_int else values
            lists.append((name, frozenset(accepted)))
    searches = []
    for name, field in SEARCHES.items():
        pattern = query.get(f"{name}_pattern")
        if pattern is not None:
            searches.append((field, ilike(pattern)))
        prefix = query.get(f"{name}_prefix_pattern")
        if prefix is not None:
            searches.append((field, starts_with(prefix)))
    order = _order(query.getall("order_by", []), QUERY_ORDER_FIELDS)
    return TIFilter(ranges, tuple(lists), tuple(searches), order)


def ilike(pattern: str) -> Callable[[Any], bool]:
    """Airflow's ``*_pattern``: SQL ``ILIKE '%pattern%'`` (``%`` and ``_`` its wildcards, case
    ignored), ``|`` between alternatives, ``~`` for anything."""
    if pattern == "~":
        pattern = "%"
    terms = [t.strip() for t in pattern.split("|") if t.strip()] if "|" in pattern else []
    alternatives = "|".join(_like_regex(t) for t in terms or [pattern])
    compiled = re.compile(f"(?:{alternatives})", re.IGNORECASE | re.DOTALL)
    return lambda value: value is not None and compiled.search(str(value)) is not None


def _like_regex(term: str) -> str:
    return "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in term)


def starts_with(pattern: str) -> Callable[[Any], bool]:
    """Airflow's ``*_prefix_pattern``: a case-sensitive prefix, its trailing characters that
    are not letters or digits dropped (Airflow's index-friendly range), ``|`` between
    alternatives, ``~`` (or nothing left) for any value."""
    if pattern == "~":
        pattern = ""
    terms = [t.strip() for t in pattern.split("|") if t.strip()] if "|" in pattern else []
    prefixes = tuple(_alnum_end(t) for t in terms or [pattern])
    return lambda value: value is not None and str(value).startswith(prefixes)


def _alnum_end(term: str) -> str:
    while term and not term[-1].isalnum():
        term = term[:-1]
    return term


def in_ranges(shape: Shape, ranges: Ranges, runs: RunValues | None = None) -> bool:
    """Whether the shape's values lie in every range (a missing value in none)."""
    for name, compare, bound in ranges:
        value = _value(value_of(shape, name, runs), RANGES.get(name, True))
        if value is None or not compare(value, bound):
            return False
    return True


def value_of(shape: Shape, name: str, runs: RunValues | None = None) -> Any:
    """The instance's value of a field its filters and orders name."""
    if name in shape:
        return shape[name]
    if name == "version_number":
        return (shape.get("dag_version") or {}).get("version_number")
    if name == "updated_at":  # its latest change Airlane keeps a time of
        times = [shape.get(n) for n in ("queued_when", "start_date", "end_date")]
        found = [_value(t, True) for t in times if t]
        return max(found).isoformat() if found else None
    run = (runs or {}).get((shape.get("dag_id", ""), shape.get("dag_run_id", "")), {})
    return run.get(name)


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


def sort_by(shapes: list[Shape], order: Order, runs: RunValues | None = None) -> list[Shape]:
    """Sorted by each field, first field first, stably; None sorts before any value (SQL's
    NULLS FIRST ascending). ``rendered_map_index`` sorts by it, then by ``map_index``, as in
    Airflow."""
    for name, descending in reversed(_expanded(order)):
        shapes.sort(key=lambda shape: _key(value_of(shape, name, runs)), reverse=descending)
    return shapes


def _expanded(order: Order) -> Order:
    pairs: list[tuple[str, bool]] = []
    for name, descending in order:
        pairs.append((name, descending))
        if name == "rendered_map_index":
            pairs.append(("map_index", descending))
    return tuple(pairs)


def _key(value: Any) -> tuple[bool, Any]:
    return (value is not None, 0 if value is None else value)


@dataclass(frozen=True, slots=True)
class CursorPage:
    items: list[Shape]
    next_cursor: str | None
    previous_cursor: str | None


def cursor_page(
    shapes: list[Shape], order: Order, cursor: str, limit: int, runs: RunValues | None = None
) -> CursorPage:
    """Airflow's keyset page: ``cursor`` empty for the first page, else a ``next_cursor``
    (the items after it) or a ``previous_cursor`` (``~`` first: the items before it) of an
    earlier page. The order is made total by the fields that name an instance, the
    direction of the first field's (as Airflow's primary key); a token holds the boundary
    instance's values of every field of it."""
    first_desc = order[0][1] if order else False
    total = (*_expanded(order), *((name, first_desc) for name in _TAIL))
    ordered = sort_by(shapes, total, runs)
    keys = [[value_of(shape, name, runs) for name, _ in total] for shape in ordered]
    backward = cursor.startswith(_BACKWARD)
    if cursor:
        boundary = _decode(cursor[len(_BACKWARD) :] if backward else cursor, len(total))
        after = [_after(key, boundary, total) for key in keys]
        if backward:
            before = after.index(True) if True in after else len(keys)
            before -= sum(1 for k in keys[:before] if k == boundary)
            start = max(0, before - limit)
            return _page(ordered, keys, start, before, has_prev=start > 0, has_next=True)
        start = after.index(True) if True in after else len(keys)
        end = start + limit
        return _page(ordered, keys, start, end, has_prev=True, has_next=end < len(keys))
    return _page(ordered, keys, 0, limit, has_prev=False, has_next=limit < len(keys))


def _page(
    ordered: list[Shape],
    keys: list[list[Any]],
    start: int,
    end: int,
    *,
    has_prev: bool,
    has_next: bool,
) -> CursorPage:
    items, chosen = ordered[start:end], keys[start:end]
    return CursorPage(
        items,
        _encode(chosen[-1]) if has_next and chosen else None,
        _BACKWARD + _encode(chosen[0]) if has_prev and chosen else None,
    )


def _after(key: list[Any], boundary: list[Any], total: Order) -> bool:
    """Whether an instance's key comes strictly after the boundary's in the order."""
    for value, bound, (_, descending) in zip(key, boundary, total, strict=True):
        mine, theirs = _key(value), _key(bound)
        try:
            if mine == theirs:
                continue
            return mine < theirs if descending else mine > theirs
        except TypeError:  # a token of another listing
            raise _bad_cursor("Cursor token does not match current query shape") from None
    return False


def _encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode("ascii").rstrip("=")


def _decode(token: str, fields: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_cursor("Invalid cursor token") from None
    if not isinstance(key, list):
        raise _bad_cursor("Invalid cursor token structure")
    if len(key) != fields:
        raise _bad_cursor("Cursor token does not match current query shape")
    return key


def _bad_cursor(message: str) -> ApiError:
    return ApiError(400, message)


def _order(raws: list[str], fields: tuple[str, ...]) -> Order:
    """(field, descending) pairs of ``order_by`` values (``-`` first: descending); an empty
    one orders nothing, as in Airflow."""
    raws = [raw for raw in raws if raw]
    if len(raws) > MAX_ORDER_FIELDS:
        message = (
            f"Ordering with more than {MAX_ORDER_FIELDS} parameters is not allowed. "
            f"Provided: {raws}"
        )
        raise ApiError(400, message)
    pairs = []
    for raw in raws:
        name = raw.lstrip("-")
        if name not in fields:
            message = (
                f"Ordering with '{name}' is disallowed or the attribute does not exist on the model"
            )
            raise ApiError(400, message)
        pairs.append((name, raw.startswith("-")))
    return tuple(pairs)


def _number(body: dict[str, Any], field: str) -> float:
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid("body", field, "Input should be a valid number", value)
    return float(value)


def _query_number(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise invalid("query", name, "Input should be a valid number", raw) from None


def _query_int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise invalid("query", name, "Input should be a valid integer", raw) from None


def _value(raw: Any, is_date: bool) -> Any:
    if raw is None or not is_date:
        return raw
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


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
