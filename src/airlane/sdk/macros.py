"""``macros`` in templates: Airflow's date helpers and a few standard modules."""

from __future__ import annotations

import json  # noqa: F401 - exposed to templates
import random  # noqa: F401
import time  # noqa: F401
import uuid  # noqa: F401
from datetime import date, datetime, timedelta  # noqa: F401


def ds_add(ds: str, days: int) -> str:
    """Add (or subtract) ``days`` to a ``YYYY-MM-DD`` date string."""
    if not days:
        return ds
    return (datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """Reformat a date string."""
    return datetime.strptime(str(ds), input_format).strftime(output_format)


def datetime_diff_for_humans(dt: datetime, since: datetime | None = None) -> str:
    import pendulum

    return pendulum.instance(dt).diff_for_humans(pendulum.instance(since) if since else None)
