"""ExternalTaskSensor's decisions (Airflow 3.1.8's rules) on a lookup of fixed runs: which
states count, how mapped instances and task groups count, which logical dates are looked at."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pendulum
import pytest

from airlane.sdk.exceptions import AirflowSkipException
from airlane.sdk.run_states import DagShape, ExternalRun, use_run_state_lookup
from airlane.sdk.sensors import external_counts as counts
from airlane.sdk.sensors.external_errors import (
    DuplicateStateError,
    ExternalDagFailedError,
    ExternalDagNotFoundError,
    ExternalTaskFailedError,
    ExternalTaskGroupNotFoundError,
    ExternalTaskNotFoundError,
)
from airlane.sdk.sensors.external_task import ExternalTaskSensor

DAY = pendulum.datetime(2025, 1, 1, tz="UTC")


class FixedRuns:
    def __init__(self, runs: list[ExternalRun], shape: DagShape | None = None) -> None:
        self.runs = runs
        self.shape = shape
        self.asked: list[list[datetime]] = []

    def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        self.asked.append(list(logical_dates))
        wanted = {d.timestamp() for d in logical_dates}
        return [r for r in self.runs if r.logical_date.timestamp() in wanted]

    def dag_shape(self, dag_id: str) -> DagShape | None:
        return self.shape


def _run(day: datetime, state: str = "running", **tasks: str | None) -> ExternalRun:
    states = {}
    for name, value in tasks.items():
        task_id, _, index = name.partition("__")
        states[(task_id, int(index) if index else -1)] = value
    return ExternalRun(f"run_{day.isoformat()}", day, state, states)


def _poke(sensor: ExternalTaskSensor, lookup: FixedRuns, day: datetime = DAY) -> bool:
    context: dict[str, Any] = {"logical_date": day, "ds": day.strftime("%Y-%m-%d")}
    with use_run_state_lookup(lookup):
        return sensor.poke(context)  # type: ignore[arg-type]


def _sensor(**kwargs: Any) -> ExternalTaskSensor:
    return ExternalTaskSensor(task_id="s", external_dag_id="other", **kwargs)


def test_tasks_succeed_only_when_every_one_is_allowed() -> None:
    sensor = _sensor(external_task_ids=["a", "b"])
    assert not _poke(sensor, FixedRuns([_run(DAY, a="success", b="running")]))
    assert _poke(sensor, FixedRuns([_run(DAY, a="success", b="success")]))
    assert not _poke(sensor, FixedRuns([_run(DAY + timedelta(days=1), a="success", b="success")]))


def test_every_map_index_counts_so_a_mapped_task_never_equals_one() -> None:
    mapped = _run(DAY, work__0="success", work__1="success", work__2="success")
    assert counts.count_tasks([mapped], ["work"], ["success"]) == 3.0
    assert not _poke(_sensor(external_task_id="work"), FixedRuns([mapped]))


def test_failed_and_skipped_states_end_the_wait_at_once() -> None:
    runs = FixedRuns([_run(DAY, a="failed")])
    with pytest.raises(ExternalTaskFailedError, match="failed"):
        _poke(_sensor(external_task_id="a", failed_states=["failed"]), runs)
    with pytest.raises(AirflowSkipException, match="soft_fail"):
        _poke(_sensor(external_task_id="a", failed_states=["failed"], soft_fail=True), runs)
    skipped = FixedRuns([_run(DAY, a="skipped")])
    with pytest.raises(AirflowSkipException, match="states-to-skip-on"):
        _poke(_sensor(external_task_id="a", skipped_states=["skipped"]), skipped)
    # without failed_states a failed task is only "not yet" (Airflow waits for a retry)
    assert not _poke(_sensor(external_task_id="a"), runs)


def test_a_whole_run_counts_by_its_own_state() -> None:
    runs = FixedRuns([_run(DAY, "success")])
    assert _poke(_sensor(), runs)
    with pytest.raises(ExternalDagFailedError):
        _poke(_sensor(failed_states=["failed"]), FixedRuns([_run(DAY, "failed")]))
    assert counts.count_runs([_run(DAY, "queued")], ["success"]) == 0


def test_a_group_counts_runs_whose_group_instances_all_match() -> None:
    shape = DagShape("other", frozenset({"g.a", "g.b", "c"}), {"g": frozenset({"g.a", "g.b"})})
    partly = FixedRuns([_run(DAY, **{"g.a": "success", "g.b": "running", "c": "failed"})], shape)
    sensor = _sensor(external_task_group_id="g")
    assert not _poke(sensor, partly)
    done = FixedRuns([_run(DAY, **{"g.a": "success", "g.b": "success", "c": "failed"})], shape)
    assert _poke(sensor, done)
    assert counts.count_group([_run(DAY)], {"g.a"}, ["success"]) == 0  # no instance: no count
    with pytest.raises(ExternalTaskGroupNotFoundError):
        _poke(_sensor(external_task_group_id="nope"), done)


def test_execution_delta_and_execution_date_fn_choose_the_dates() -> None:
    lookup = FixedRuns([_run(DAY - timedelta(hours=1), a="success")])
    assert _poke(_sensor(external_task_id="a", execution_delta=timedelta(hours=1)), lookup)
    assert lookup.asked[-1] == [DAY - timedelta(hours=1)]

    def two_days(logical_date: datetime, ds: str) -> list[datetime]:
        assert ds == "2025-01-01"
        return [logical_date, logical_date - timedelta(days=1)]

    both = FixedRuns([_run(DAY, a="success")])
    assert not _poke(_sensor(external_task_id="a", execution_date_fn=two_days), both)
    both.runs.append(_run(DAY - timedelta(days=1), a="success"))
    assert _poke(_sensor(external_task_id="a", execution_date_fn=two_days), both)
    found = counts.dates_to_check(DAY, {}, None, lambda dt: dt + timedelta(minutes=5))
    assert found == [DAY + timedelta(minutes=5)]


def test_states_are_checked_when_the_sensor_is_made() -> None:
    with pytest.raises(DuplicateStateError):
        _sensor(external_task_id="a", allowed_states=["success"], failed_states=["success"])
    with pytest.raises(ValueError, match="external_task_id` and `external_task_group_id"):
        _sensor(allowed_states=["upstream_failed"])
    with pytest.raises(ValueError, match="external_task_id` or `external_task_ids"):
        _sensor(external_task_id="a", allowed_states=["bogus"])
    with pytest.raises(ValueError, match="external_task_group_id"):
        _sensor(external_task_id="a", external_task_group_id="g")
    with pytest.raises(ValueError, match="execution_delta"):
        _sensor(execution_delta=timedelta(1), execution_date_fn=lambda d: d)
    with pytest.raises(ValueError, match="Duplicate task_ids"):
        _poke(_sensor(external_task_ids=["a", "a"]), FixedRuns([]))


def test_check_existence_stops_at_once() -> None:
    shape = DagShape("other", frozenset({"a"}), {})
    with pytest.raises(ExternalDagNotFoundError):
        _poke(_sensor(external_task_id="a", check_existence=True), FixedRuns([]))
    with pytest.raises(ExternalTaskNotFoundError):
        _poke(_sensor(external_task_id="b", check_existence=True), FixedRuns([], shape))
    assert not _poke(_sensor(external_task_id="a", check_existence=True), FixedRuns([], shape))


def test_poll_interval_is_the_deprecated_poke_interval() -> None:
    with pytest.warns(DeprecationWarning, match="poke_interval"):
        sensor = _sensor(poll_interval=7)
    assert sensor.poke_interval == 7
