"""@asset and @asset.multi as Airflow 3.1.8 builds them (checked with its DagBag on
example_asset_decorator.py: one DAG per asset, named after it, never catching up, one
_AssetMainOperator task whose outlet is the asset and whose inlets are refs to its arguments)."""

from __future__ import annotations

from typing import Any

import pytest

from airlane.sdk import task
from airlane.sdk.asset_decorator import AssetDefinition, MultiAssetDefinition, asset
from airlane.sdk.assets import Asset, AssetNameRef
from airlane.sdk.dag import DAG, start_collecting, stop_collecting
from airlane.service.execution.local_runner import run_dag_object

SEEN: dict[str, Any] = {}


def _collect(make: Any) -> dict[str, DAG]:
    collected = start_collecting()
    try:
        make()
    finally:
        stop_collecting()
    return {d.dag_id: d for d in collected}


def dec_source() -> None:
    SEEN["source"] = True


def dec_object(self: Any, context: Any, dec_source: Any, flag: int = 3) -> None:
    SEEN["object"] = (self, context["ti"].task_id, dec_source, flag)


def two_assets() -> None:
    pass


def on_task() -> None:
    pass


def star(*args: Any) -> None:
    pass


def kw(**kwargs: Any) -> None:
    pass


def _define() -> None:
    source = asset(uri="s3://bucket/dec_source", schedule=None)(dec_source)
    obj = asset(uri="s3://bucket/dec_object", schedule=None, tags=["t"])(dec_object)
    SEEN["definitions"] = (source, obj)


def test_each_asset_makes_a_dag_with_one_task() -> None:
    dags = _collect(_define)
    _source, obj = SEEN["definitions"]
    assert isinstance(obj, AssetDefinition)
    assert (obj.name, obj.uri, obj.group) == ("dec_object", "s3://bucket/dec_object", "asset")
    dag = dags["dec_object"]
    assert dag.catchup is False
    assert dag.schedule is None
    assert set(dag.tags) == {"t"}
    (op,) = dag.tasks
    assert (op.task_id, op.operator_name) == ("dec_object", "_AssetMainOperator")
    assert op.outlets == [obj]
    assert op.inlets == [AssetNameRef("dec_source")]
    assert dags["dec_source"].tasks[0].inlets == []


def test_the_function_receives_its_assets_and_context() -> None:
    dags = _collect(_define)
    source, obj = SEEN["definitions"]
    result = run_dag_object(dags["dec_object"], sink=lambda label, line: None)
    assert result.tasks["dec_object"]["state"] == "success"
    assert SEEN["object"] == (obj, "dec_object", source, 3)


def test_asset_multi_makes_one_task_with_several_outlets() -> None:
    a, b = Asset("multi_a"), Asset("multi_b")

    def make() -> None:
        SEEN["multi"] = asset.multi(outlets=[a, b], schedule=None)(two_assets)

    dags = _collect(make)
    multi = SEEN["multi"]
    assert isinstance(multi, MultiAssetDefinition)
    assert list(multi.iter_assets()) == [a, b]
    (op,) = dags["two_assets"].tasks
    assert op.outlets == [a, b]


def test_on_top_of_task_the_task_gets_the_outlet() -> None:
    def make() -> None:
        SEEN["on_task"] = asset(schedule=None)(task(retries=2)(on_task))

    dags = _collect(make)
    (op,) = dags["on_task"].tasks
    assert op.outlets == [SEEN["on_task"]]
    assert op.retries == 2
    assert op.operator_name != "_AssetMainOperator"


def test_refused_definitions() -> None:
    with pytest.raises(ValueError, match="nested function not supported"):
        asset(schedule=None)(lambda: None)
    for bad, message in ((star, r"wildcard '\*args'"), (kw, r"wildcard '\*\*kwargs'")):
        with pytest.raises(TypeError, match=message):
            _collect(lambda bad=bad: asset(schedule=None, name=f"bad_{bad.__name__}")(bad))
    with pytest.raises(ValueError, match="no outlets provided"):
        asset.multi(outlets=[], schedule=None)(_define)
    with pytest.raises(TypeError, match="watchers"):
        asset(schedule=None, watchers=[object()])
