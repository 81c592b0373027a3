"""What every decoder of the protocol shares: the error it raises, the field readers, the
one place where a reader survives a bad record.

Whatever a service reads back from Redis was written by another process, possibly another
version, possibly by hand: each decoder checks the shape and raises :class:`MalformedRecord`
(a ``ValueError``) naming what is wrong, so a reader can log the record and skip it
(:func:`decoded_or_none`) instead of dying on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson

T = TypeVar("T")
R = TypeVar("R")


class MalformedRecord(ValueError):
    """A record read from Redis that does not have the shape its writer gives it."""


#: a stream entry's fields as the encoders give them (names and values are all ``str``), typed
#: loosely because redis-py's ``xadd`` takes its own invariant dict type
Fields = dict[Any, Any]


def text_field(fields: Mapping[str, str], name: str, what: str) -> str:
    """The non-empty text of field ``name``, or MalformedRecord naming ``what`` lacks it."""
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"{what} lacks its {name!r} field: {dict(fields)!r:.300}")
    return value


def number_field(fields: Mapping[str, str], name: str, what: str, kind: Callable[[str], T]) -> T:
    """Field ``name`` read by ``kind`` (``int`` or ``float``), or MalformedRecord."""
    raw = text_field(fields, name, what)
    try:
        return kind(raw)
    except ValueError:
        raise MalformedRecord(f"{what} has {name}={raw!r:.50}, not a number") from None


def ti_key(field: str, what: str) -> tuple[str, int]:
    """``<task_id>|<map_index>`` (keys.ti_field's form) as its two parts, or MalformedRecord."""
    # Task ids cannot contain "|" (the loader checks every DAG's ids), so the field's last
    # "|" separates the map index, and a run ref's first "|" ends the DAG id.
    task_id, bar, index = field.rpartition("|")
    try:
        if not bar or not task_id:
            raise ValueError
        return task_id, int(index)
    except ValueError:
        raise MalformedRecord(f"{what} has ti={field!r:.100}, not <task_id>|<map_index>") from None


def parse_ti_key(field: str) -> tuple[str, int]:
    """``<task_id>|<map_index>`` (a ``tis:{run}`` field) as its two parts."""
    return ti_key(field, "task instance field")


def json_array(raw: str | bytes, what: str, types: tuple[type, ...]) -> list[Any]:
    """A JSON array of exactly ``types`` (no bool for int), or MalformedRecord."""
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedRecord(f"{what} is not JSON: {raw!r:.200}") from None
    if not isinstance(items, list) or len(items) != len(types):
        raise MalformedRecord(f"{what} is not an array of {len(types)} items: {raw!r:.200}")
    for item, kind in zip(items, types, strict=True):
        if not isinstance(item, kind) or isinstance(item, bool):
            raise MalformedRecord(f"{what} has {item!r:.50} where a {kind.__name__} belongs")
    return items


def str_list(raw: str, what: str) -> tuple[str, ...]:
    """A JSON array of strings, or MalformedRecord."""
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedRecord(f"{what} is not JSON: {raw!r:.200}") from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise MalformedRecord(f"{what} is not an array of strings: {raw!r:.200}")
    return tuple(items)


#: what a decoder raises on input it cannot read (codec's and the task message's decoders
#: have no MalformedRecord of their own)
_DECODE_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)


def decoded_or_none(
    decode: Callable[[T], R], raw: T, what: str, logger: logging.Logger
) -> R | None:
    """``decode(raw)``, or None after logging when ``raw`` cannot be decoded.

    The one place where a reader survives a bad record. Give it a pure decoder only: what it
    raises is the record's fault. A :class:`MalformedRecord` is logged as one line; any other
    error with its traceback, in case the decoder itself is wrong.
    """
    try:
        return decode(raw)
    except MalformedRecord as err:
        logger.error("skipping a malformed %s: %s", what, err)
    except _DECODE_ERRORS as err:
        logger.error("skipping a malformed %s (%r): %r", what, err, _clip(raw), exc_info=True)
    return None


def _clip(raw: object) -> object:
    return raw[:300] if isinstance(raw, str | bytes) else raw
