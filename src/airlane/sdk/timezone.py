"""Datetime helpers: everything is time-zone aware; naive values are read as UTC, like Airflow.

Also Airflow's ``airflow.sdk.timezone`` (``airflow.utils.timezone`` in 2.x) helpers that DAG
files call: ``datetime(...)``, ``parse``, ``convert_to_utc``, ``make_aware``, ``make_naive``.
Airlane's default time zone is UTC, so that is the zone they add.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta
from typing import Any

import pendulum
from pendulum import DateTime

utc = pendulum.UTC


def utcnow() -> DateTime:
    return pendulum.now(utc)


def coerce_datetime(value: dt.datetime | date | str | None) -> DateTime | None:
    """``value`` as an aware pendulum DateTime (naive means UTC); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = pendulum.parse(value)
        if not isinstance(parsed, DateTime):
            raise ValueError(f"not a date-time: {value!r}")
        return parsed
    if isinstance(value, DateTime):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=utc)
        return pendulum.instance(value)
    return pendulum.datetime(value.year, value.month, value.day, tz=utc)


def parse_timezone(name: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    return pendulum.timezone(name)


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0) -> DateTime:
    """Midnight UTC ``n`` days ago (``airflow.utils.dates.days_ago``)."""
    today = utcnow().replace(hour=hour, minute=minute, second=second, microsecond=0)
    return today - timedelta(days=n)


def timezone_name(value: dt.datetime | None) -> str:
    """The IANA name of ``value``'s zone, ``UTC`` when it has none we can name."""
    if value is None or value.tzinfo is None:
        return "UTC"
    name = getattr(value.tzinfo, "name", None)
    if isinstance(name, str):
        return name
    offset = value.utcoffset()
    if offset == timedelta(0):
        return "UTC"
    return str(value.tzinfo)


def datetime(*args: Any, **kwargs: Any) -> dt.datetime:
    """``datetime.datetime(...)`` in UTC unless ``tzinfo`` is given (Airflow's
    ``timezone.datetime``)."""
    kwargs.setdefault("tzinfo", utc)
    return dt.datetime(*args, **kwargs)


def parse(string: str, timezone: Any = None, *, strict: bool = False) -> DateTime:
    """An aware DateTime from ``string``; without an offset it is in ``timezone`` (UTC)."""
    parsed = pendulum.parse(string, tz=timezone or utc, strict=strict)
    if not isinstance(parsed, DateTime):
        raise ValueError(f"not a date-time: {string!r}")
    return parsed


def is_localized(value: dt.datetime) -> bool:
    return value.utcoffset() is not None


def is_naive(value: dt.datetime) -> bool:
    return value.utcoffset() is None


def convert_to_utc(value: dt.datetime | None) -> DateTime | None:
    """``value`` in UTC; a naive value is read as UTC."""
    if value is None:
        return None
    if is_naive(value):
        value = value.replace(tzinfo=utc)
    return pendulum.instance(value).in_timezone(utc)


def make_aware(value: dt.datetime, timezone: Any = None) -> dt.datetime:
    """A naive ``value`` read in ``timezone`` (UTC); an aware one is refused, like Airflow."""
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    # fold=1: a wall-clock time that occurs twice (clocks moved back) is its second instance
    return value.replace(tzinfo=_zone(timezone), fold=1)


def make_naive(value: dt.datetime, timezone: Any = None) -> dt.datetime:
    """The wall-clock time of an aware ``value`` in ``timezone`` (UTC), without a zone."""
    if is_naive(value):
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    return value.astimezone(_zone(timezone)).replace(tzinfo=None)


def _zone(timezone: Any) -> Any:
    """A tzinfo from what Airflow's helpers accept: None (the default, UTC), a name or a tzinfo."""
    if timezone is None:
        return utc
    return pendulum.timezone(timezone) if isinstance(timezone, str) else timezone
