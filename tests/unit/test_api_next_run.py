"""The API's next run of a DAG with a custom timetable: the user's code runs in a thread, once
per DAG version, and what it raises gives no next run (not a 500)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest

from airlane.api.next_run import NextRuns, with_next_run
from airlane.dag_loader import plugins
from airlane.scheduling.scheduler import encode_run
from airlane.scheduling.timetables import ScheduledRun
from airlane.sdk.timetable_base import DagRunInfo, Timetable

NOW = datetime(2024, 3, 1, tzinfo=UTC)
START = pendulum.datetime(2024, 1, 1, tz="UTC")
calls: list[tuple[str, int]] = []


class Counted(Timetable):
    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Counted:
        calls.append(("deserialize", threading.get_ident()))
        return cls()

    def next_dagrun_info(self, *, last_automated_data_interval: Any, restriction: Any) -> Any:
        calls.append(("next_dagrun_info", threading.get_ident()))
        return DagRunInfo.interval(START, START + timedelta(hours=1))


class Raising(Timetable):
    @property
    def can_be_scheduled(self) -> bool:  # type: ignore[override]
        raise KeyError("flag")


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    classes = {"tt.Counted": Counted, "tt.Raising": Raising}
    monkeypatch.setattr(plugins, "timetable_class", classes.get)
    calls.clear()


def _dag(cls: type, start: str = "2024-01-01T00:00:00+00:00") -> dict[str, Any]:
    schedule = {"kind": "custom", "class": f"tt.{cls.__name__}", "value": {}}
    return {"dag_id": "d", "schedule": schedule, "start_date": start, "tasks": []}


async def test_the_user_code_runs_in_a_thread_once_per_dag_version() -> None:
    next_runs = NextRuns(data_intervals_default=False)
    first = await next_runs.upcoming(_dag(Counted), None, NOW)
    assert first is not None
    assert first.data_interval_start == START
    assert [name for name, _ in calls] == ["deserialize", "next_dagrun_info"]
    assert all(thread != threading.get_ident() for _, thread in calls)
    assert await next_runs.upcoming(_dag(Counted), None, NOW) == first
    assert len(calls) == 2  # cached
    last = encode_run(ScheduledRun(START, START, START, START))
    await next_runs.upcoming(_dag(Counted), last, NOW)  # another latest run: asked again
    assert len(calls) == 4


async def test_a_raising_timetable_gives_null_fields() -> None:
    next_runs = NextRuns(data_intervals_default=False)
    upcoming = await next_runs.upcoming(_dag(Raising), None, NOW)
    assert upcoming is None
    assert "next_dagrun_logical_date" not in with_next_run({}, upcoming)


async def test_the_cache_is_bounded() -> None:
    next_runs = NextRuns(data_intervals_default=False, size=2)
    for day in range(1, 5):
        await next_runs.upcoming(_dag(Counted, f"2024-01-0{day}T00:00:00+00:00"), None, NOW)
    assert len(next_runs._custom) == 2
