"""Datetime helpers: everything is time-zone aware; naive values are read as UTC, like Airflow."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pendulum
from pendulum import DateTime

utc = pendulum.UTC


def utcnow() -> DateTime:
    return pendulum.now(utc)


def coerce_datetime(value: datetime | date | str | None) -> DateTime | None:
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
    if isinstance(value, datetime):
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


def timezone_name(value: datetime | None) -> str:
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
