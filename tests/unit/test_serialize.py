"""The serialized DAG: stable hash, effective priorities, mapping and groups as data."""

from __future__ import annotations

from datetime import datetime

from airlane import DAG, BashOperator, EmptyOperator, TaskGroup, task
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.graph import DagGraph


def build(extra_task: bool = False) -> DAG:
    with DAG("s", schedule="@hourly", start_date=datetime(2024, 1, 1), tags=["b", "a"]) as dag:
        a = EmptyOperator(task_id="a", priority_weight=2)
        with TaskGroup("g"):
            b = BashOperator(task_id="b", bash_command="echo", retries=2, execution_timeout=5)
        a >> b

        @task
        def items() -> list[int]:
            return [1, 2]

        task(lambda x: x, task_id="m").expand(x=items())
        if extra_task:
            EmptyOperator(task_id="extra")
    return dag


def test_hash_is_stable_and_changes_with_the_dag() -> None:
    assert serialize_dag(build())["hash"] == serialize_dag(build())["hash"]
    assert serialize_dag(build())["hash"] != serialize_dag(build(extra_task=True))["hash"]


def test_serialized_fields() -> None:
    data = serialize_dag(build())
    tasks = {t["task_id"]: t for t in data["tasks"]}
    assert [t["task_id"] for t in data["tasks"]][:2] == ["a", "g.b"]
    assert data["schedule"] == {"kind": "preset", "expression": "@hourly", "cron": "0 * * * *"}
    assert data["tags"] == ["a", "b"]
    assert data["start_date"] == "2024-01-01T00:00:00+00:00"
    assert tasks["a"]["priority_weight"] == 3  # own 2 + downstream g.b
    assert tasks["a"]["is_empty"] is True
    assert tasks["g.b"]["retries"] == 2
    assert tasks["g.b"]["execution_timeout_s"] == 5
    assert tasks["g.b"]["task_group"] == "g"
    assert tasks["m"]["mapped"] == {
        "kind": "product",
        "inputs": [
            {"name": "x", "length": None, "xcom": {"task_id": "items", "key": "return_value"}}
        ],
    }
    assert data["task_groups"][0]["group_id"] == "g"


def test_graph_compiles_from_the_serialized_form() -> None:
    g = DagGraph.from_serialized(serialize_dag(build()))
    assert g.roots == ("a", "items")
    assert g.leaves == frozenset({"g.b", "m"})
    assert g.groups == {"g": frozenset({"g.b"})}
    assert g.tasks["m"].mapped is not None
    assert g.descendants("a") == {"g.b"}


def test_display_names_are_kept_only_where_they_differ() -> None:
    with DAG("names", schedule=None) as dag:
        EmptyOperator(task_id="plain")
        with TaskGroup("g", group_display_name="Loading stage"):
            EmptyOperator(task_id="load", task_display_name="Load the files")
        with TaskGroup("h"):
            EmptyOperator(task_id="same")
    data = serialize_dag(dag)
    tasks = {t["task_id"]: t for t in data["tasks"]}
    assert tasks["g.load"]["task_display_name"] == "Load the files"
    assert "task_display_name" not in tasks["plain"]
    assert "task_display_name" not in tasks["h.same"]  # (its id, prefixed: nothing to keep)
    groups = {g["group_id"]: g for g in data["task_groups"]}
    assert groups["g"]["group_display_name"] == "Loading stage"
    assert "group_display_name" not in groups["h"]
