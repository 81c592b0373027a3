"""Mapped task groups and map_index_template in the SDK and the task runner (no Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pendulum
import pytest

from airlane import DAG
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.context import get_current_context
from airlane.sdk.decorators import task, task_group
from airlane.sdk.exceptions import UnsupportedFeature
from airlane.sdk.node import DAGNode
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

S = TaskInstanceState
WHEN = pendulum.datetime(2024, 3, 5, 6, tz="UTC")


def run(node: DAGNode, map_index: int, xcoms: InMemoryXComs) -> TaskOutcome:
    assert node.dag is not None
    info = RunInfo(node.dag.dag_id, "run1", WHEN, WHEN, WHEN, {})
    request = TaskRequest(info, TIKey(node.task_id, map_index), 1, 0)
    env = ExecutionEnv(xcoms=xcoms, log=lambda _line: None)
    return asyncio.run(execute_task(node, node.dag, request, env))


def build() -> DAG:
    with DAG("groups", schedule=None) as dag:

        @task
        def numbers() -> list[int]:
            return [1, 2, 3]

        @task_group
        def process(x: int, offset: int) -> Any:
            @task
            def add(x: int, offset: int) -> int:
                return x + offset

            @task
            def double(y: int) -> int:
                return y * 2

            return double(add(x, offset))

        @task
        def total(values: list[int]) -> int:
            return sum(values)

        total(process.partial(offset=10).expand(x=numbers()))
    return dag


def test_group_tasks_wire_the_input_upstream_and_serialize_the_expansion() -> None:
    dag = build()
    assert dag.task_dict["process.add"].upstream_task_ids == {"numbers"}
    assert dag.task_dict["total"].upstream_task_ids == {"process.double"}
    graph = DagGraph.from_serialized(serialize_dag(dag))
    assert graph.mapped_group_of == {"process.add": "process", "process.double": "process"}
    spec = graph.expansion("process.double")
    assert spec is not None
    assert spec.inputs[0].xcom_task_id == "numbers"
    assert graph.expansion("total") is None
    assert graph.per_index_edges == {("process.add", "process.double")}


def test_arguments_and_xcoms_resolve_per_index_and_outside_gets_the_list() -> None:
    dag = build()
    xcoms = InMemoryXComs()
    xcoms.set("numbers", -1, "return_value", [1, 2, 3])
    for i in range(3):
        assert run(dag.task_dict["process.add"], i, xcoms).state is S.SUCCESS
    assert [xcoms.get("process.add", i, "return_value") for i in range(3)] == [11, 12, 13]
    for i in (0, 2):  # index 1 never ran: Airflow reads None for it
        run(dag.task_dict["process.double"], i, xcoms)
    assert xcoms.get("process.double", 2, "return_value") == 26
    outcome = run(dag.task_dict["total"], -1, xcoms)
    assert outcome.state is S.FAILED  # sum([22, None, 26]): the list has None where index 1 is
    xcoms.set("process.double", 1, "return_value", 24)
    run(dag.task_dict["total"], -1, xcoms)
    assert xcoms.get("total", -1, "return_value") == 72


def test_expand_kwargs_rows() -> None:
    with DAG("kw", schedule=None) as dag:

        @task_group
        def pair(a: int, b: int) -> None:
            @task
            def multiply(a: int, b: int) -> int:
                return a * b

            multiply(a, b)

        pair.expand_kwargs([{"a": 2, "b": 3}, {"a": 4, "b": 5}])
    xcoms = InMemoryXComs()
    run(dag.task_dict["pair.multiply"], 1, xcoms)
    assert xcoms.get("pair.multiply", 1, "return_value") == 20


def test_refused_at_load_time() -> None:
    with DAG("bad", schedule=None):

        @task_group
        def outer(x: int) -> None:
            @task_group
            def inner(y: int) -> None:
                pass

            inner.expand(y=[1])

        with pytest.raises(UnsupportedFeature, match="nested mapped task groups"):
            outer.expand(x=[1, 2])

    with DAG("bad2", schedule=None):

        @task
        def work(v: int) -> int:
            return v

        @task_group
        def group(x: int) -> None:
            work.expand(v=[x])

        with pytest.raises(UnsupportedFeature, match="mapping inside a mapped group"):
            group.expand(x=[1, 2])

    with DAG("bad3", schedule=None):

        @task_group
        def named(x: int) -> None:
            pass

        with pytest.raises(TypeError, match="unexpected arguments"):
            named.expand(y=[1])
        with pytest.raises(ValueError, match="must be a list, dict or XComArg"):
            named.expand(x=3)


def test_map_index_template_renders_after_execute_with_values_set_in_the_context() -> None:
    with DAG("named", schedule=None) as dag:

        @task(map_index_template="{{ label }}")
        def work(n: int) -> int:
            get_current_context()["label"] = f"item-{n}"
            if n == 2:
                raise ValueError("two is bad")
            return n

        @task(map_index_template="{{ missing.attr }}")
        def broken(n: int) -> int:
            return n

        work.expand(n=[1, 2])
        broken.expand(n=[1])
    xcoms = InMemoryXComs()
    first = run(dag.task_dict["work"], 0, xcoms)
    assert (first.state, first.rendered_map_index) == (S.SUCCESS, "item-1")
    failed = run(dag.task_dict["work"], 1, xcoms)
    assert (failed.state, failed.rendered_map_index) == (S.FAILED, "item-2")
    # as Airflow: a template error after a success fails the try
    assert run(dag.task_dict["broken"], 0, xcoms).state is S.FAILED


def test_override_renames_a_group_before_or_after_partial_as_airflow_does() -> None:
    # Airflow 3.1.8: `grp.override(...).partial(...)` and `grp.partial(...).override(...)` both
    # build the mapped group under the new id; a plain call takes the override too.
    @task
    def add(x: int, y: int) -> int:
        return x + y

    @task_group(tooltip="adds")
    def grp(x: int, y: int) -> None:
        add(x, y)

    with DAG("overrides", schedule=None) as dag:
        grp.override(group_id="g1").partial(y=10).expand(x=[1, 2])
        grp.partial(y=1).override(group_id="g2", tooltip="other").expand(x=[1, 2])
        grp.override(group_id="g3")(1, 2)
    assert sorted(dag.task_dict) == ["g1.add", "g2.add", "g3.add"]
    groups = dag.task_group.children
    assert groups["g1"].tooltip == "adds"
    assert groups["g2"].tooltip == "other"
    assert not isinstance(groups["g3"], type(groups["g1"]))
