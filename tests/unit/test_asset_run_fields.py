"""An asset-triggered run as Airflow 3.1.8 makes it (scheduler_job_runner's
``_create_dag_runs_asset_triggered``: ``logical_date=None, data_interval=None, run_after=...,
triggered_by=DagRunTriggeredByType.ASSET``; the task runner's ``get_template_context`` adds the
date keys only when the run has a logical date), an asset schedule's timetable summary and
description (AssetTriggeredTimetable, AssetOrTimeSchedule: checked with 3.1.8's
SerializedDAG), ``dags test``'s events, ``@asset`` arguments from the registry, /metrics."""

from __future__ import annotations

from typing import Any

import jinja2
import pendulum
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from airlane.api.metrics import _assets, _Snapshot
from airlane.api.shapes import dag_response, dag_run_response
from airlane.dag_loader.serialize import serialize_dag
from airlane.queue.asset_metrics import AssetFigures
from airlane.sdk import DAG, task
from airlane.sdk.asset_decorator import asset_by_name, use_asset_lookup
from airlane.sdk.asset_schedule import AssetOrTimeSchedule
from airlane.sdk.assets import Asset
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.templating import get_environment, render_string
from airlane.sdk.timetables import CronTriggerTimetable
from airlane.service.execution.context_builder import RunInfo, build_context
from airlane.service.execution.local_runner import run_dag_object
from airlane.service.execution.runtime_ti import InMemoryXComs, RuntimeTaskInstance
from airlane.service.metrics import MetricDeltas

RUN_AFTER = "2026-01-02T03:04:05.678901+00:00"
ASSET_RUN = {
    "dag_id": "consumer",
    "run_id": f"asset_triggered__{RUN_AFTER}_abcdEFGH",
    "state": "queued",
    "logical_date": "",
    "data_interval_start": "",
    "data_interval_end": "",
    "conf": "{}",
    "run_type": "asset_triggered",
    "queued_at": "1767323045.7",
    "run_after": RUN_AFTER,
}
SEEN: dict[str, Any] = {}


def test_an_asset_runs_api_shape_has_no_logical_date_and_is_triggered_by_asset() -> None:
    shown = dag_run_response(None, ASSET_RUN)
    assert shown["logical_date"] is None
    assert shown["data_interval_start"] is None
    assert shown["data_interval_end"] is None
    assert shown["run_after"] == RUN_AFTER
    assert shown["run_type"] == "asset_triggered"
    assert shown["triggered_by"] == "asset"
    manual = {**ASSET_RUN, "run_type": "manual", "logical_date": RUN_AFTER}
    assert dag_run_response(None, manual)["triggered_by"] == "rest_api"


def test_asset_schedules_show_airflows_timetable_summary_and_description() -> None:
    a, b = Asset("a"), Asset("b")
    on_assets = DAG("on_assets", schedule=[a])
    either = DAG(
        "either",
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=(a | b)
        ),
    )
    shown = [
        dag_response(serialize_dag(d), paused=False, stale=False, has_import_errors=False)
        for d in (on_assets, either)
    ]
    picked = [
        (s["timetable_summary"], s["timetable_description"], s["timetable_periodic"]) for s in shown
    ]
    assert picked[0] == ("Asset", "Triggered by assets", False)
    assert picked[1][0] == "Asset or 0 1 * * 3"
    assert picked[1][1].startswith("Triggered by assets or ")
    assert picked[1][2] is True
    assert shown[0]["is_backfillable"] is False


def _asset_run_context(dag: DAG) -> Any:
    node = dag.task_dict["t"]
    run = RunInfo(
        "consumer",
        ASSET_RUN["run_id"],
        None,
        None,
        None,
        run_type="asset_triggered",
        run_after=pendulum.parse(RUN_AFTER),  # type: ignore[arg-type]
    )
    ti = RuntimeTaskInstance(dag, node, run.run_id, -1, 1, 0, None, InMemoryXComs(), 1000)
    return build_context(node, dag, run, ti)


def test_an_asset_runs_context_has_no_date_keys_and_ds_is_undefined() -> None:
    with DAG("consumer", schedule=[Asset("a")]) as dag:

        @task
        def t() -> None:
            pass

        t()
    context = _asset_run_context(dag)
    for key in ("logical_date", "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz"):
        assert key not in context
    assert "data_interval_start" not in context
    assert "data_interval_end" not in context
    assert context["task_instance_key_str"] == f"consumer__t__{ASSET_RUN['run_id']}"
    assert context["dag_run"].logical_date is None
    assert context["dag_run"].run_after.isoformat() == RUN_AFTER
    with pytest.raises(jinja2.UndefinedError, match="'ds' is undefined"):
        render_string("{{ ds }}", context, get_environment(dag), ())
    assert render_string("{{ run_id }}", context, get_environment(dag), ()) == ASSET_RUN["run_id"]


def test_dags_test_shows_a_tasks_events_to_the_later_tasks_inlet_events() -> None:
    out = Asset("dags_test_out")
    with DAG("dags_test_events", schedule=None) as dag:

        @task(outlets=[out])
        def make(*, outlet_events: Any = None) -> None:
            outlet_events[out].extra = {"rows": 2}

        @task(inlets=[out])
        def read(*, inlet_events: Any = None) -> None:
            SEEN["events"] = [
                (e.asset.name, e.extra, e.source_task_id, e.source_dag_id)
                for e in inlet_events[out]
            ]

        make() >> read()
    result = run_dag_object(dag, sink=lambda label, line: None)
    assert {k: v["state"] for k, v in result.tasks.items()} == {
        "make": "success",
        "read": "success",
    }
    assert SEEN["events"] == [("dags_test_out", {"rows": 2}, "make", "dags_test_events")]


def test_an_asset_function_argument_resolves_through_the_installed_lookup() -> None:
    registry = {"elsewhere": Asset("elsewhere", uri="s3://b/elsewhere")}
    with pytest.raises(AirflowException, match="not found"):
        asset_by_name("elsewhere")
    with use_asset_lookup(registry.get):
        assert asset_by_name("elsewhere").uri == "s3://b/elsewhere"
    with pytest.raises(AirflowException, match="not found"):
        asset_by_name("elsewhere")


def test_metrics_show_asset_events_runs_and_watchers() -> None:
    deltas = MetricDeltas()
    deltas.asset_runs_created(3)
    assert deltas.take()[0] == {"asset_runs_created": 3}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(_assets(AssetFigures(7, 3, 1))))
    text = generate_latest(registry).decode()
    assert "airlane_asset_events_total 7.0" in text
    assert "airlane_asset_triggered_runs_total 3.0" in text
    assert "airlane_asset_watchers_running 1.0" in text
