"""The context's asset keys under ``dags test``: outlet_events (set by the task, by a yielded
Metadata, by post_execute), inlet_events, triggering_asset_events; inlets and outlets."""

from __future__ import annotations

from typing import Any

import pendulum

from airlane.sdk import DAG, BashOperator, task
from airlane.sdk.assets import Asset, AssetAlias, Metadata
from airlane.sdk.triggering_asset_events import TriggeringAssetEventsAccessor
from airlane.service.execution.context_builder import RunInfo, asset_context
from airlane.service.execution.local_runner import run_dag_object

OUT = Asset(uri="s3://output/1.txt", name="test-asset")
SEEN: dict[str, Any] = {}


def _run(dag: DAG) -> dict[str, str]:
    result = run_dag_object(dag, sink=lambda label, line: None)
    return {k: v["state"] for k, v in result.tasks.items()}


def test_a_yielded_metadata_sets_the_outlets_extra() -> None:
    with DAG("meta_yield", schedule=None) as dag:

        @task(outlets=[OUT, AssetAlias("al")])
        def produce(*, outlet_events: Any = None) -> Any:
            SEEN["yield"] = outlet_events
            yield Metadata(OUT, {"hi": "bye"})
            yield Metadata(Asset("s3://through/alias"), {"k": 1}, alias=AssetAlias("al"))
            yield "ignored"
            return 5

        produce()
    assert _run(dag) == {"produce": "success"}
    assert SEEN["yield"].emitted() == [
        {"asset": OUT.as_ref(), "extra": {"hi": "bye"}, "source_alias_names": []},
        {
            "asset": Asset("s3://through/alias").as_ref(),
            "extra": {"k": 1},
            "source_alias_names": ["al"],
        },
    ]


def test_context_and_post_execute_set_extras_and_inlets_read_nothing_under_dags_test() -> None:
    def post(context: Any, result: Any) -> None:
        context["outlet_events"][OUT].extra = {"from": "post_execute"}
        SEEN["post"] = context["outlet_events"]

    with DAG("meta_context", schedule=None) as dag:
        BashOperator(task_id="classic", outlets=[OUT], bash_command=":", post_execute=post)

        @task(inlets=[OUT])
        def read(*, inlet_events: Any = None, inlets: Any = None, outlets: Any = None) -> None:
            SEEN["read"] = (list(inlet_events[OUT]), inlets, outlets)

        read()
    assert _run(dag) == {"classic": "success", "read": "success"}
    assert SEEN["post"].emitted()[0]["extra"] == {"from": "post_execute"}
    assert SEEN["read"] == ([], [OUT], [])


def test_triggering_events_by_asset_alias_and_uri() -> None:
    record = {
        "id": 7,
        "name": "test-asset",
        "uri": "s3://output/1.txt",
        "group": "asset",
        "extra": {"hi": "bye"},
        "source_dag_id": "p",
        "source_task_id": "t",
        "source_run_id": "r",
        "source_map_index": -1,
        "source_aliases": ["al"],
        "timestamp": "2025-01-01T00:00:00+00:00",
    }
    when = pendulum.datetime(2025, 1, 1)
    run = RunInfo("d", "r", when, when, when, triggering_asset_events=(record,))
    keys = asset_context(None, run, None)
    events = keys["triggering_asset_events"]
    assert isinstance(events, TriggeringAssetEventsAccessor)
    assert [e.id for e in events[OUT]] == [7]
    assert events[AssetAlias("al")][0].extra == {"hi": "bye"}
    assert events.for_asset(name="test-asset")[0].source_dag_id == "p"
    assert len(events) == 2
    assert [e.id for e in keys["triggering_dataset_events"]["s3://output/1.txt"]] == [7]
    empty = asset_context(None, RunInfo("d", "r", when, when, when), None)
    assert len(empty["triggering_asset_events"]) == 0
    assert empty["triggering_dataset_events"] == {}
