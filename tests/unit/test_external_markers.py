"""ExternalTaskMarker when clearing: what is serialized of it, which cleared instances are
markers, how deep a chain of them may go, and how its fields render against its run."""

from __future__ import annotations

import pendulum
import pytest

from airlane import DAG
from airlane.api.clear_across import render_marker
from airlane.api.errors import ApiError
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.external_markers import (
    DepthGuard,
    MarkerSpec,
    RecursionTooDeep,
    markers_among,
)
from airlane.sdk.sensors.external_task import ExternalTaskMarker


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
    with pytest.raises(ApiError, match="cannot be rendered"):
        render_marker(_marker(date="{{ my_macro() }}"), run)
