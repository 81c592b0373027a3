"""A DAG whose timetable fails does not stop the scheduler: the user's code raising anything,
or a timetable that does not move forward, is that DAG's schedule error (its file's import
error) and the other DAGs go on; one pass creates a bounded number of runs of a DAG."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest

from airlane.dag_loader import plugins
from airlane.queue.store import RunExists, RunRequest
from airlane.scheduling import scheduler as scheduler_module
from airlane.scheduling.custom_timetable import TimetableError, manual_interval
from airlane.scheduling.scheduler import RUNS_PER_PASS, Scheduler, TimetableStuck, dag_schedule
from airlane.sdk.timetable_base import DagRunInfo, Timetable

NOW = datetime(2024, 3, 1, tzinfo=UTC)
START = pendulum.datetime(2024, 1, 1, tz="UTC")


class Hourly(Timetable):
    """One run per hour from the start date: well behaved."""

    def next_dagrun_info(self, *, last_automated_data_interval: Any, restriction: Any) -> Any:
        start = last_automated_data_interval.end if last_automated_data_interval else START
        return DagRunInfo.interval(start, start + timedelta(hours=1))


class BadRunIds(Hourly):
    def generate_run_id(self, **kwargs: Any) -> str:
        raise KeyError("no such key")


class BadFlag(Hourly):
    @property
    def can_be_scheduled(self) -> bool:  # type: ignore[override]
        raise KeyError("flag")


class SameEveryTime(Hourly):
    """Ignores the last run: plans the same interval for ever."""

    def next_dagrun_info(self, *, last_automated_data_interval: Any, restriction: Any) -> Any:
        return DagRunInfo.interval(START, START + timedelta(hours=1))


class Flaky(Hourly):
    broken = True

    def next_dagrun_info(self, *, last_automated_data_interval: Any, restriction: Any) -> Any:
        if Flaky.broken:
            raise RuntimeError("boom")
        return super().next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval, restriction=restriction
        )


CLASSES = {f"tt.{c.__name__}": c for c in (Hourly, BadRunIds, BadFlag, SameEveryTime, Flaky)}


class FakeClient:
    async def hset(self, *args: object) -> None:
        return None

    async def hget(self, *args: object) -> None:
        return None


class FakeStore:
    """What the scheduler asks of the store, in memory (creating a run yields to the loop)."""

    def __init__(self) -> None:
        self.client = FakeClient()
        self.keys = type("K", (), {"schedules": "schedules"})()
        self.made: list[RunRequest] = []

    async def create_run(self, request: RunRequest) -> None:
        await asyncio.sleep(0)
        if any(r.run_id == request.run_id for r in self.made):
            raise RunExists(request.run_id)
        self.made.append(request)

    async def is_paused(self, dag_id: str) -> bool:
        return False


@pytest.fixture
def reported(monkeypatch: pytest.MonkeyPatch) -> dict[str, Exception]:
    """The schedule errors reported, by dag_id (cleared ones removed)."""
    found: dict[str, Exception] = {}

    async def report(store: object, dag: dict[str, Any], problem: Exception) -> None:
        found[str(dag["dag_id"])] = problem

    async def clear(store: object, dag_id: str) -> None:
        found.pop(dag_id, None)

    async def clear_others(store: object, dag_ids: set[str]) -> None:
        for dag_id in set(found) - dag_ids:
            found.pop(dag_id)

    monkeypatch.setattr(scheduler_module.schedule_errors, "report", report)
    monkeypatch.setattr(scheduler_module.schedule_errors, "clear", clear)
    monkeypatch.setattr(scheduler_module.schedule_errors, "clear_others", clear_others)
    monkeypatch.setattr(plugins, "timetable_class", CLASSES.get)
    return found


def _dag(dag_id: str, cls: type, **extra: Any) -> dict[str, Any]:
    schedule = {"kind": "custom", "class": f"tt.{cls.__name__}", "value": {}}
    return {
        "dag_id": dag_id,
        "fileloc": f"/dags/{dag_id}.py",
        "lineno": 3,
        "schedule": schedule,
        "start_date": START.isoformat(),
        "catchup": True,
        "max_active_runs": 1000,
        "tasks": [],
        **extra,
    }


async def _scheduler(store: FakeStore, dags: dict[str, dict[str, Any]]) -> Scheduler:
    scheduler = Scheduler(store)  # type: ignore[arg-type]
    await scheduler.load(dags, NOW)
    return scheduler


async def test_a_run_id_that_raises_is_the_dags_error_and_the_others_go_on(
    reported: dict[str, Exception],
) -> None:
    store = FakeStore()
    scheduler = await _scheduler(
        store, {"bad": _dag("bad", BadRunIds), "good": _dag("good", Hourly)}
    )
    created = await asyncio.wait_for(scheduler.create_due(NOW, {}), 10)
    assert created
    assert all(ref.startswith("good|") for ref in created)
    assert "bad" not in scheduler.dags
    assert "good" in scheduler.dags
    assert isinstance(reported["bad"], TimetableError)
    assert "BadRunIds.generate_run_id() failed: KeyError" in str(reported["bad"])


async def test_a_can_be_scheduled_that_raises_is_the_dags_error(
    reported: dict[str, Exception],
) -> None:
    scheduler = await _scheduler(FakeStore(), {"flag": _dag("flag", BadFlag)})
    assert "flag" not in scheduler.dags
    assert "BadFlag.can_be_scheduled failed: KeyError" in str(reported["flag"])


async def test_a_next_dagrun_info_that_raises_is_the_dags_error(
    reported: dict[str, Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Flaky, "broken", True)
    scheduler = await _scheduler(FakeStore(), {"h": _dag("h", Flaky)})
    assert "h" not in scheduler.dags
    assert "Flaky.next_dagrun_info() failed: RuntimeError: boom" in str(reported["h"])
    monkeypatch.setattr(Flaky, "broken", False)
    await scheduler.update("h", _dag("h", Flaky), NOW)  # fixed: the error goes
    assert "h" in scheduler.dags
    assert "h" not in reported


async def test_a_timetable_that_does_not_move_forward_is_the_dags_error(
    reported: dict[str, Exception],
) -> None:
    store = FakeStore()
    scheduler = await _scheduler(store, {"stuck": _dag("stuck", SameEveryTime)})
    await asyncio.wait_for(scheduler.create_due(NOW, {}), 10)  # used to spin for ever
    assert [r.logical_date for r in store.made] == [START]
    assert "stuck" not in scheduler.dags
    assert isinstance(reported["stuck"], TimetableStuck)
    assert "does not move forward" in str(reported["stuck"])


async def test_one_pass_creates_a_bounded_number_of_runs_of_a_dag(
    reported: dict[str, Exception],
) -> None:
    store = FakeStore()
    scheduler = await _scheduler(store, {"h": _dag("h", Hourly)})  # ~1,400 hourly runs due
    first = await scheduler.create_due(NOW, {})
    assert len(first) == RUNS_PER_PASS
    due = scheduler.next_due_s()
    assert due is not None
    assert due <= NOW.timestamp()
    second = await scheduler.create_due(NOW, {})
    assert len(second) == RUNS_PER_PASS
    assert not set(first) & set(second)
    assert not reported


def test_a_dag_schedule_of_a_raising_timetable_raises_a_timetable_error(
    reported: dict[str, Exception],
) -> None:
    """What the API catches: never the user's own exception type."""
    with pytest.raises(TimetableError, match="KeyError"):
        dag_schedule(_dag("flag", BadFlag), None, NOW, data_intervals_default=False)


def test_a_manual_interval_that_raises_is_a_timetable_error() -> None:
    with pytest.raises(TimetableError, match="infer_manual_data_interval"):
        manual_interval(Hourly(), NOW)  # the base's NotImplementedError
