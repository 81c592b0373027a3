"""How a trigger's keyword arguments, a resumed method's keyword arguments and an event's payload
travel through Redis: JSON with tagged values for what JSON lacks (datetimes, dates, times,
timedeltas, tuples, sets), decoded to the same Python values. Also the identity of a trigger,
which deduplicates identical ones (the same ``serialize()``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from enum import Enum
from typing import Any

import orjson
import pendulum

_TAG = "__airlane_type"


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return _encode(value.value)
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {_TAG: "timedelta", "v": value.total_seconds()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [_encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {_TAG: "set", "v": [_encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {str(k): _encode(v) for k, v in value.items()}
        return {_TAG: "dict", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(
        f"cannot serialize {type(value).__name__} value {value!r:.100} for the triggerer "
        "(trigger and resume arguments must be JSON values, dates, times or timedeltas)"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: _decode(v) for k, v in value.items()}
    raw = value["v"]
    match tag:
        case "datetime":
            return pendulum.parse(raw)
        case "date":
            return dt.date.fromisoformat(raw)
        case "time":
            return dt.time.fromisoformat(raw)
        case "timedelta":
            return dt.timedelta(seconds=raw)
        case "tuple":
            return tuple(_decode(v) for v in raw)
        case "set":
            return {_decode(v) for v in raw}
        case "dict":
            return {_decode(k): _decode(v) for k, v in raw}
    raise ValueError(f"unknown serialized type {tag!r}")


def dumps(value: Any) -> str:
    """``value`` as canonical JSON text (keys sorted: equal values give equal text)."""
    return orjson.dumps(_encode(value), option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return _decode(orjson.loads(text))


def trigger_key(classpath: str, kwargs_json: str) -> str:
    """The identity of a trigger: triggers with the same classpath and serialized arguments are
    one trigger, run once, whose event resumes every try waiting on it."""
    digest = hashlib.sha256(f"{classpath}\n{kwargs_json}".encode()).hexdigest()
    return digest[:32]
