"""``max_active_runs=0`` as in Airflow's scheduler: no scheduled run is created
(``active >= 0``), and runs that are triggered start without a limit (``elif
dag_run.max_active_runs:`` is false for 0)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from airlane.scheduling.scheduler import Scheduler, dag_schedule
from airlane.service.coordinator.admission import under_max_active_runs

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def _daily(max_active_runs: int) -> dict[str, Any]:
    return {
        "dag_id": "d",
        "schedule": {"kind": "cron", "expression": "0 0 * * *"},
        "timezone": "UTC",
        "start_date": "2024-03-01T00:00:00+00:00",
        "catchup": True,
        "max_active_runs": max_active_runs,
    }


class _Store:
    def __init__(self) -> None:
        self.created: list[str] = []

    async def create_run(self, request: Any) -> None:
        self.created.append(request.run_id)

    class client:
        @staticmethod
        async def hset(*_: Any) -> None:
            return None

    class keys:
        schedules = "schedules"


def _created(max_active_runs: int) -> list[str]:
    store = _Store()
    scheduler = Scheduler(store)  # type: ignore[arg-type]
    entry = dag_schedule(_daily(max_active_runs), None, NOW, data_intervals_default=False)
    assert entry is not None
    scheduler.dags["d"] = entry
    asyncio.run(scheduler.create_due(NOW, {}))
    return store.created


def test_zero_creates_no_scheduled_run() -> None:
    assert _created(0) == []
    assert len(_created(2)) == 2


def test_zero_starts_triggered_runs_without_a_limit() -> None:
    assert under_max_active_runs({"max_active_runs": 0}, 100)
    assert not under_max_active_runs({"max_active_runs": 2}, 2)
