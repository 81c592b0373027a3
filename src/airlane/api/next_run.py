"""``next_dagrun_*`` of the DAG endpoints: the run the scheduler makes next.

A custom timetable's next run comes from the user's code (``deserialize`` and
``next_dagrun_info``): it runs in a thread, never on the API's event loop, and its answer is
kept per DAG version (its schedule, dates and latest scheduled run: a custom timetable plans
without looking at the clock), in a bounded cache. What the user's code raises gives null
fields. Built-in schedules are computed in place (pure and quick, but they depend on now).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any

from airlane.queue.codec import dumps
from airlane.scheduling.scheduler import dag_schedule
from airlane.scheduling.timetables import ScheduledRun

log = logging.getLogger("airlane.api")

#: custom timetables' next runs kept (least recently used ones go first)
CACHE_SIZE = 512


class NextRuns:
    def __init__(self, data_intervals_default: bool, size: int = CACHE_SIZE) -> None:
        self.data_intervals_default = data_intervals_default
        self.size = size
        self._custom: OrderedDict[str, ScheduledRun | None] = OrderedDict()

    def _compute(
        self, dag: dict[str, Any], last_raw: str | None, now: datetime
    ) -> ScheduledRun | None:
        entry = dag_schedule(dag, last_raw, now, data_intervals_default=self.data_intervals_default)
        return entry.upcoming if entry is not None else None

    async def upcoming(
        self, dag: dict[str, Any], last_raw: str | None, now: datetime
    ) -> ScheduledRun | None:
        """The DAG's next run, None when it has none or its timetable fails."""
        if (dag.get("schedule") or {}).get("kind") != "custom":
            try:
                return self._compute(dag, last_raw, now)
            except (ValueError, TypeError, OverflowError, KeyError):
                return None
        key = _version(dag, last_raw)
        if key in self._custom:
            self._custom.move_to_end(key)
            return self._custom[key]
        try:
            found = await asyncio.to_thread(self._compute, dag, last_raw, now)
        except Exception:  # the user's code, or a DAG the API cannot read
            log.warning("no next run for DAG %s", dag.get("dag_id"), exc_info=True)
            found = None
        self._custom[key] = found
        while len(self._custom) > self.size:
            self._custom.popitem(last=False)
        return found


_SHARED: dict[bool, NextRuns] = {}


def shared(data_intervals_default: bool) -> NextRuns:
    """The process's cache for the setting (its keys are DAG contents: any app may share it)."""
    if data_intervals_default not in _SHARED:
        _SHARED[data_intervals_default] = NextRuns(data_intervals_default)
    return _SHARED[data_intervals_default]


def _version(dag: dict[str, Any], last_raw: str | None) -> str:
    """What a custom timetable's next run depends on."""
    fields = ("dag_id", "schedule", "timezone", "start_date", "end_date", "catchup")
    return dumps([{k: dag.get(k) for k in fields}, last_raw])


def with_next_run(response: dict[str, Any], upcoming: ScheduledRun | None) -> dict[str, Any]:
    """``response`` with the ``next_dagrun_*`` fields of ``upcoming``."""
    if upcoming is not None:
        response["next_dagrun_logical_date"] = upcoming.logical_date.isoformat()
        response["next_dagrun_data_interval_start"] = upcoming.data_interval_start.isoformat()
        response["next_dagrun_data_interval_end"] = upcoming.data_interval_end.isoformat()
        response["next_dagrun_run_after"] = upcoming.run_after.isoformat()
    return response
