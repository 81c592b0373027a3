"""ExternalTaskMarker when clearing: what is serialized of it, which cleared instances are
markers, how deep a chain of them may go, and how its fields render against its run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pendulum
import pytest

from airlane import DAG
from airlane.api.clear_across import ClearRefused, MarkerWalk, RunClear, render_marker
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.external_markers import (
    DepthGuard,
    MarkerSpec,
    RecursionTooDeep,
    markers_among,
)
from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta
from airlane.sdk.sensors.external_task import ExternalTaskMarker
from airlane.sdk.state import TaskInstanceState

DAY = pendulum.datetime(2025, 2, 3, tz="UTC")


def _marker(
    task_id: str = "m", depth: int = 2, date: str = "{{ logical_date.isoformat() }}"
) -> MarkerSpec:
    return MarkerSpec(task_id, "child_{{ ds_nodash }}", "wait", date, depth)


def test_a_marker_is_serialized_with_what_clearing_follows() -> None:
    with DAG("parent", schedule=None) as dag:
        ExternalTaskMarker(
            task_id="m", external_dag_id="child", external_task_id="wait", recursion_depth=3
        )
        ExternalTaskMarker(
            task_id="m2",
            external_dag_id="child",
            external_task_id="wait",
            execution_date="{{ ds }}",
        )
    data = serialize_dag(dag)
    found = markers_among(data, ["m", "m2", "absent"])
    assert found == [
        MarkerSpec("m", "child", "wait", "{{ logical_date.isoformat() }}", 3),
        MarkerSpec("m2", "child", "wait", "{{ ds }}", 10),
    ]
    assert markers_among(data, ["m2"]) == found[1:]
    with pytest.raises(ValueError, match="positive"):
        ExternalTaskMarker(
            task_id="x", external_dag_id="c", external_task_id="t", recursion_depth=0
        )


def test_the_first_marker_sets_the_depth_of_every_chain() -> None:
    guard = DepthGuard()
    guard.check(_marker(depth=2), 0)
    guard.check(_marker("deeper", depth=50), 1)  # the first one's 2 holds
    with pytest.raises(RecursionTooDeep, match="Maximum recursion depth 2 reached"):
        guard.check(_marker("deeper"), 2)


def test_the_fields_render_against_the_markers_run() -> None:
    run = {"run_id": "r1", "logical_date": "2025-02-03T04:05:06+00:00"}
    dag_id, task_id, when = render_marker(_marker(), run)
    assert (dag_id, task_id) == ("child_20250203", "wait")
    assert when == pendulum.datetime(2025, 2, 3, 4, 5, 6)
    _, _, earlier = render_marker(_marker(date="{{ macros.ds_add(ds, -1) }}"), run)
    assert earlier == pendulum.datetime(2025, 2, 2)
    with pytest.raises(ClearRefused, match="cannot be rendered"):
        render_marker(_marker(date="{{ my_macro() }}"), run)


class _Store:
    """Two DAGs whose markers point at each other, one run each at the same date."""

    def __init__(self, depth: int) -> None:
        def dag(dag_id: str, other: str) -> dict[str, Any]:
            marker = {
                "external_dag_id": other,
                "external_task_id": "start",
                "logical_date": "{{ ts }}",
                "recursion_depth": depth,
            }
            return {
                "dag_id": dag_id,
                "tasks": [
                    {"task_id": "start", "upstream": [], "downstream": ["mark"]},
                    {
                        "task_id": "mark",
                        "upstream": ["start"],
                        "downstream": [],
                        "external_marker": marker,
                    },
                ],
            }

        self.dags = {"a": dag("a", "b"), "b": dag("b", "a")}
        done = (TIRecord(state=TaskInstanceState.SUCCESS, try_number=1), TIMeta())
        self.tis = {("start", -1): done, ("mark", -1): done}

    async def run_ids_at(self, dag_id: str, when: datetime) -> list[str]:
        return [f"{dag_id}_run"] if when == DAY else []

    async def task_instances(self, dag_id: str, run_id: str) -> dict[Any, Any]:
        return dict(self.tis)

    async def run(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {"dag_id": dag_id, "run_id": run_id, "logical_date": DAY.isoformat()}

    async def dag(self, dag_id: str) -> dict[str, Any]:
        return self.dags[dag_id]


async def _walk(depth: int) -> list[tuple[str, list[str]]]:
    store = _Store(depth)
    start = RunClear(store.dags["a"], await store.run("a", "a_run"), dict(store.tis))
    found = await MarkerWalk(store, lambda record: True).follow([start])  # type: ignore[arg-type]
    return [(one.run["dag_id"], sorted(t for t, _ in one.chosen)) for one in found]


async def test_a_cycle_of_markers_is_walked_once_within_the_depth() -> None:
    # a's marker clears b's run; b's marker leads back to a's run, visited once
    assert await _walk(depth=5) == [("b", ["mark", "start"]), ("a", ["mark", "start"])]
    with pytest.raises(ClearRefused, match="Maximum recursion depth 1 reached"):
        await _walk(depth=1)
