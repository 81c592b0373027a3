"""The context's asset keys under ``dags test``: outlet_events (set by the task, by a yielded
Metadata, by post_execute around an aexecute too), inlet_events; inlets and outlets
(triggering_asset_events: tests/unit/test_asset_runtime.py, h8-assetrun's)."""

from __future__ import annotations

from typing import Any

from airlane.sdk import DAG, BashOperator, task
from airlane.sdk.assets import Asset, AssetAlias, Metadata
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
        classic = BashOperator(
            task_id="classic", outlets=[OUT], bash_command=":", post_execute=post
        )

        @task(inlets=[OUT])
        def read(*, inlet_events: Any = None, inlets: Any = None, outlets: Any = None) -> None:
            SEEN["read"] = (list(inlet_events[OUT]), inlets, outlets)

        # before the producer: under `dags test` a later task would see its event
        read() >> classic
    assert _run(dag) == {"classic": "success", "read": "success"}
    assert SEEN["post"].emitted()[0]["extra"] == {"from": "post_execute"}
    assert SEEN["read"] == ([], [OUT], [])
