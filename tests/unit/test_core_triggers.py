"""The core triggers' pure pieces: what fires when, and the external-task triggers' counts of
other DAGs' runs read through an async run state lookup (as ExternalTaskSensor counts)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airlane.sdk.run_states import DagShape, ExternalRun
from airlane.sdk.triggers import TaskSuccessEvent, TriggerEvent
from airlane.sdk.triggers import external_task as external
from airlane.sdk.triggers.external_task import DagStateTrigger, WorkflowTrigger
from airlane.sdk.triggers.file import FileTrigger
from airlane.sdk.triggers.run_state_counter import count_states, install_state_counter
from airlane.sdk.triggers.temporal import DateTimeTrigger

DAY = pendulum.datetime(2025, 1, 1, tz="UTC")
NEXT = DAY + dt.timedelta(days=1)


class FakeLookup:
    """Runs of ``other`` at two dates: one succeeded with a mapped task, one still running."""

    def __init__(self) -> None:
        done = {("a", -1): "success", ("m", 0): "success", ("m", 1): "success"}
        done[("g.x", -1)] = "success"
        busy = {("a", -1): "failed", ("m", 0): None, ("g.x", -1): "running"}
        self.runs = [
            ExternalRun("r1", DAY, "success", done),
            ExternalRun("r2", NEXT, "running", busy),
        ]

    async def runs_at(
        self, dag_id: str, logical_dates: Sequence[dt.datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        wanted = {d.timestamp() for d in logical_dates}
        return [r for r in self.runs if dag_id == "other" and r.logical_date.timestamp() in wanted]

    async def runs_named(
        self, dag_id: str, run_ids: Sequence[str], *, with_tasks: bool
    ) -> list[ExternalRun]:
        return [r for r in self.runs if dag_id == "other" and r.run_id in run_ids]

    async def dag_shape(self, dag_id: str) -> DagShape | None:
        if dag_id != "other":
            return None
        return DagShape("other", frozenset({"a", "m", "g.x"}), {"g": frozenset({"g.x"})})


def _count(kwargs: dict[str, Any], states: list[str] | None) -> int:
    return asyncio.run(count_states(FakeLookup(), {"external_dag_id": "other", **kwargs}, states))


def test_counts_runs_tasks_and_groups_as_the_sensor_does() -> None:
    both = {"logical_dates": [DAY, NEXT]}
    assert _count(both, ["success"]) == 1
    assert _count(both, None) == 2
    assert _count({**both, "external_task_ids": ["a"]}, ["success"]) == 1
    assert _count({**both, "external_task_ids": ["a"]}, ["failed"]) == 1
    # a task mapped over two inputs counts twice per run (Airflow's rule)
    assert _count({"logical_dates": [DAY], "external_task_ids": ["m"]}, ["success"]) == 2
    assert _count({**both, "external_task_group_id": "g"}, ["success"]) == 1
    assert _count({**both, "external_task_group_id": "nope"}, ["success"]) == 0
    assert _count({"run_ids": ["r2"]}, ["running"]) == 1
    assert _count({"logical_dates": [DAY.isoformat()]}, ["success"]) == 1  # serialized dates


@pytest.fixture
def counter() -> Iterator[None]:
    installed = install_state_counter(FakeLookup())
    yield
    external.STATE_COUNTER.remove(installed)


async def _first(events: AsyncIterator[TriggerEvent]) -> TriggerEvent:
    async for event in events:
        return event
    raise AssertionError("no event")


@pytest.mark.usefixtures("counter")
def test_workflow_trigger_fires_success_failed_or_skipped() -> None:
    def fire(**kwargs: Any) -> Any:
        trigger = WorkflowTrigger(external_dag_id="other", poke_interval=0.01, **kwargs)
        return asyncio.run(asyncio.wait_for(_first(trigger.run()), 5)).payload

    assert fire(logical_dates=[DAY], allowed_states=["success"]) == {"status": "success"}
    on_next = {"logical_dates": [NEXT], "external_task_ids": ["a"]}
    assert fire(**on_next, failed_states=["failed"]) == {"status": "failed"}
    assert fire(**on_next, skipped_states=["failed"]) == {"status": "skipped"}


@pytest.mark.usefixtures("counter")
def test_dag_state_trigger_fires_once_its_runs_are_in_a_state() -> None:
    trigger = DagStateTrigger(
        dag_id="other", states=["success"], run_ids=["r1"], poll_interval=0.01
    )
    event = asyncio.run(asyncio.wait_for(_first(trigger.run()), 5))
    assert event.payload[0] == "airflow.providers.standard.triggers.external_task.DagStateTrigger"


def test_date_time_trigger_fires_at_once_for_a_past_moment_and_can_end_the_task() -> None:
    past = pendulum.now("UTC") - dt.timedelta(seconds=5)
    assert asyncio.run(_first(DateTimeTrigger(moment=past).run())) == TriggerEvent(past)
    ended = asyncio.run(_first(DateTimeTrigger(moment=past, end_from_trigger=True).run()))
    assert isinstance(ended, TaskSuccessEvent)
    with pytest.raises(ValueError, match="naive"):
        DateTimeTrigger(moment=dt.datetime(2025, 1, 1))


def test_file_trigger_fires_once_the_file_lands(tmp_path: Path) -> None:
    target = tmp_path / "in" / "*.csv"
    trigger = FileTrigger(filepath=str(target), poke_interval=0.01)

    async def land_then_wait() -> TriggerEvent:
        waiting = asyncio.ensure_future(_first(trigger.run()))
        await asyncio.sleep(0)  # let it look once
        assert not waiting.done()
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "a.csv").write_text("x")
        return await asyncio.wait_for(waiting, 5)

    assert asyncio.run(land_then_wait()) == TriggerEvent(True)
