"""What Airflow's list endpoints share, on formatted shapes: ``*_pattern`` (SQL ILIKE) and
``*_prefix_pattern`` searches, date and number ranges (``_gte``, ``_gt``, ``_lte``, ``_lt``),
``order_by`` (repeatable, ``-`` for descending, Airflow's 400 for a field the list cannot sort
by) and keyset ``cursor`` pages. Each list says which fields it takes (its own module)."""

from __future__ import annotations

import base64
import binascii
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from airlane.api.errors import ApiError, invalid
from airlane.api.inputs import parse_datetime

Shape = dict[str, Any]
#: a shape's value of a field (a list's own lookups: nested or derived values)
Value = Callable[[Shape, str], Any]
#: (field, descending), first field first
Order = tuple[tuple[str, bool], ...]
#: (field, comparison, bound): the shape's value compared with the bound
Ranges = tuple[tuple[str, Callable[[Any, Any], bool], Any], ...]
#: (field, test of its value)
Searches = tuple[tuple[str, Callable[[Any], bool]], ...]

BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
}
#: Airflow's limit on the fields of one order_by
MAX_ORDER_FIELDS = 10
#: a cursor page's total_entries counts up to this many (Airflow's EXACT_COUNT_LIMIT)
COUNT_LIMIT = 50_000
_BACKWARD = "~"


def field_of(shape: Shape, name: str) -> Any:
    return shape.get(name)


def aliased(names: dict[str, str]) -> Value:
    """A lookup where some names stand for a field of the shape (Airflow's ``to_replace``)."""
    return lambda shape, name: shape.get(names.get(name, name))


def listed(
    request: web.Request,
    shapes: list[Shape],
    *,
    searches_of: dict[str, str] | None = None,
    order_fields: Iterable[str] = (),
    value: Value = field_of,
) -> list[Shape]:
    """The shapes a simple list keeps (``*_pattern``/``*_prefix_pattern`` of ``searches_of``)
    in the ``order_by`` the query asks for (the list's own order without one)."""
    found = searches(request, searches_of or {})
    kept = [shape for shape in shapes if keeps(shape, found, value)]
    return sort_by(kept, query_order(request, order_fields), value)


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


def searches(request: web.Request, fields: dict[str, str]) -> Searches:
    """``<name>_pattern`` and ``<name>_prefix_pattern`` of the query, for each name and the
    field it searches."""
    found = []
    for name, field in fields.items():
        pattern = request.query.get(f"{name}_pattern")
        if pattern is not None:
            found.append((field, ilike(pattern)))
        prefix = request.query.get(f"{name}_prefix_pattern")
        if prefix is not None:
            found.append((field, starts_with(prefix)))
    return tuple(found)


def date_ranges(request: web.Request, names: Iterable[str]) -> Ranges:
    """``<name>_gte`` (``_gt``, ``_lte``, ``_lt``) query bounds on the dates ``names`` (422s
    naming the parameter)."""
    ranges = []
    for name in names:
        for bound, compare in BOUNDS.items():
            raw = request.query.get(f"{name}_{bound}")
            if raw is not None:
                ranges.append((name, compare, parse_datetime(raw, "query", f"{name}_{bound}")))
    return tuple(ranges)


def number_ranges(request: web.Request, names: Iterable[str]) -> Ranges:
    """The same bounds on numbers."""
    ranges = []
    for name in names:
        for bound, compare in BOUNDS.items():
            raw = request.query.get(f"{name}_{bound}")
            if raw is not None:
                ranges.append((name, compare, query_number(raw, f"{name}_{bound}")))
    return tuple(ranges)


def in_ranges(shape: Shape, ranges: Ranges, value: Value = field_of) -> bool:
    """Whether the shape's values lie in every range (a missing value in none); a bound that
    is a date compares with the value read as one."""
    for name, compare, bound in ranges:
        found = value(shape, name)
        if found is not None and isinstance(bound, datetime):
            found = as_datetime(found)
        if found is None or not compare(found, bound):
            return False
    return True


def keeps(shape: Shape, found: Searches, value: Value = field_of) -> bool:
    return all(test(value(shape, name)) for name, test in found)


def as_datetime(raw: Any) -> datetime:
    return (
        raw
        if isinstance(raw, datetime)
        else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    )


def query_order(request: web.Request, fields: Iterable[str], default: Iterable[str] = ()) -> Order:
    """``order_by`` of the query (repeatable), ``default`` when absent."""
    raws = [raw for raw in request.query.getall("order_by", []) if raw]
    return order_pairs(raws or list(default), fields)


def order_pairs(raws: list[str], fields: Iterable[str]) -> Order:
    """(field, descending) pairs of ``order_by`` values (``-`` first: descending); an empty
    one orders nothing, as in Airflow; more than ten, or a field the list cannot sort by, is
    Airflow's 400 (its SortParam)."""
    raws = [raw for raw in raws if raw]
    if len(raws) > MAX_ORDER_FIELDS:
        message = (
            f"Ordering with more than {MAX_ORDER_FIELDS} parameters is not allowed. "
            f"Provided: {raws}"
        )
        raise ApiError(400, message)
    allowed = set(fields)
    pairs = []
    for raw in raws:
        name = raw.lstrip("-")
        if name not in allowed:
            message = (
                f"Ordering with '{name}' is disallowed or the attribute does not exist on the model"
            )
            raise ApiError(400, message)
        pairs.append((name, raw.startswith("-")))
    return tuple(pairs)


def sort_by(shapes: list[Shape], order: Order, value: Value = field_of) -> list[Shape]:
    """Sorted by each field, first field first, stably; None sorts before any value (SQL's
    NULLS FIRST ascending)."""
    for name, descending in reversed(order):
        shapes.sort(key=lambda shape: sort_key(value(shape, name)), reverse=descending)
    return shapes


def sort_key(value: Any) -> tuple[bool, Any]:
    return (value is not None, 0 if value is None else value)


@dataclass(frozen=True, slots=True)
class CursorPage:
    items: list[Shape]
    next_cursor: str | None
    previous_cursor: str | None


def cursor_page(
    shapes: list[Shape],
    order: Order,
    tail: tuple[str, ...],
    cursor: str,
    limit: int,
    value: Value = field_of,
) -> CursorPage:
    """Airflow's keyset page: ``cursor`` empty for the first page, else a ``next_cursor``
    (the items after it) or a ``previous_cursor`` (``~`` first: the items before it) of an
    earlier page. ``tail``, fields that name an item, makes the order total, in the first
    field's direction (as Airflow's primary key); a token holds the boundary item's values of
    every field of it."""
    first_desc = order[0][1] if order else False
    total = (*order, *((name, first_desc) for name in tail))
    ordered = sort_by(shapes, total, value)
    keys = [[value(shape, name) for name, _ in total] for shape in ordered]
    if not cursor:
        return _page(ordered, keys, 0, limit, has_prev=False, has_next=limit < len(keys))
    backward = cursor.startswith(_BACKWARD)
    boundary = _decode(cursor.removeprefix(_BACKWARD), len(total))
    after = [_after(key, boundary, total) for key in keys]
    first_after = after.index(True) if True in after else len(keys)
    if backward:
        before = first_after - sum(1 for k in keys[:first_after] if k == boundary)
        start = max(0, before - limit)
        return _page(ordered, keys, start, before, has_prev=start > 0, has_next=True)
    end = first_after + limit
    return _page(ordered, keys, first_after, end, has_prev=True, has_next=end < len(keys))


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
    """Whether an item's key comes strictly after the boundary's in the order."""
    for mine, theirs, (_, descending) in zip(key, boundary, total, strict=True):
        a, b = sort_key(mine), sort_key(theirs)
        try:
            if a == b:
                continue
            return a < b if descending else a > b
        except TypeError:  # a token of another listing
            raise ApiError(400, "Cursor token does not match current query shape") from None
    return False


def _encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode("ascii").rstrip("=")


def _decode(token: str, fields: int) -> list[Any]:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(400, "Invalid cursor token") from None
    if not isinstance(key, list):
        raise ApiError(400, "Invalid cursor token structure")
    if len(key) != fields:
        raise ApiError(400, "Cursor token does not match current query shape")
    return key


def cursor_result(name: str, found: int, page: CursorPage) -> dict[str, Any]:
    """A cursor page's response: the items under ``name``, the capped count, the cursors."""
    return {
        name: page.items,
        "total_entries": min(found, COUNT_LIMIT),
        "total_entries_limit": COUNT_LIMIT,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


def query_number(raw: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise invalid("query", name, "Input should be a valid number", raw) from None


def query_ints(request: web.Request, name: str) -> list[int]:
    """A repeatable integer parameter (422 naming it for one that is not)."""
    values = []
    for raw in request.query.getall(name, []):
        try:
            values.append(int(raw))
        except ValueError:
            raise invalid("query", name, "Input should be a valid integer", raw) from None
    return values
