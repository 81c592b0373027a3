"""The template/execute context of one task try, with Airflow's keys."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pendulum import DateTime

from airlane.sdk import macros
from airlane.sdk.asset_events import InletEventsAccessors, OutletEventAccessors
from airlane.sdk.asset_runtime import TriggeringAssetEvents, current_asset_event_reader
from airlane.sdk.connection import ConnectionAccessor
from airlane.sdk.context import Context
from airlane.sdk.dag import DAG
from airlane.sdk.models import DagRun
from airlane.sdk.params import ParamsDict
from airlane.sdk.state_store import (
    AssetStateStoreAccessors,
    TaskScope,
    TaskStateStoreAccessor,
    has_assets,
)
from airlane.sdk.variable import template_var
from airlane.service.execution.runtime_ti import RuntimeTaskInstance


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The DAG run a task belongs to."""

    dag_id: str
    run_id: str
    #: None with the data interval: an asset-triggered run (as in Airflow 3)
    logical_date: DateTime | None
    data_interval_start: DateTime | None
    data_interval_end: DateTime | None
    conf: dict[str, Any] = field(default_factory=dict)
    run_type: str = "manual"
    start_date: DateTime | None = None
    # Airflow 2's ``dag_run.external_trigger``; None: a manual run (Airflow 2's ``dags test``
    # creates a manual run that is not externally triggered: False)
    external_trigger: bool | None = None
    #: an asset-triggered run's events (sdk/asset_runtime.py's records), oldest first
    asset_events: tuple[dict[str, Any], ...] = ()
    #: when the run was due (None: its logical date)
    run_after: DateTime | None = None


@dataclass(frozen=True, slots=True)
class DagRunView:
    """``dag_run`` in the context."""

    dag_id: str
    run_id: str
    logical_date: DateTime | None
    data_interval_start: DateTime | None
    data_interval_end: DateTime | None
    conf: dict[str, Any]
    run_type: str
    start_date: DateTime | None
    triggered_externally: bool | None = None
    run_after: DateTime | None = None

    @property
    def execution_date(self) -> DateTime | None:
        return self.logical_date

    @property
    def external_trigger(self) -> bool:
        """Airflow 2's flag: a run triggered by a user or another DAG (not the scheduler, a
        backfill or ``dags test``)."""
        if self.triggered_externally is not None:
            return self.triggered_externally
        return self.run_type in ("manual", "operator_triggered", "asset_materialization")


DagRun.register(DagRunView)


def resolve_params(task_params: ParamsDict, conf: dict[str, Any]) -> dict[str, Any]:
    """The task's params with the run's ``conf`` on top (``dag_run_conf_overrides_params``)."""
    if not len(task_params):  # what the lines below make of no params, without copying them
        return dict(conf)
    merged = task_params.merged({k: v for k, v in conf.items() if k in task_params})
    values = merged.validate()
    for key, value in conf.items():
        values.setdefault(key, value)
    return values


@functools.lru_cache(maxsize=1024)
def _date_strings(ld: DateTime) -> dict[str, str]:
    """The context's strings made from the logical date (the same for every try of a run)."""
    return {
        "ds": ld.strftime("%Y-%m-%d"),
        "ds_nodash": ld.strftime("%Y%m%d"),
        "ts": ld.isoformat(),
        "ts_nodash": ld.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ld.isoformat().replace("-", "").replace(":", ""),
        "yesterday_ds": (ld - timedelta(days=1)).strftime("%Y-%m-%d"),
        "tomorrow_ds": (ld + timedelta(days=1)).strftime("%Y-%m-%d"),
    }


def _date_keys(dag: DAG, task: Any, run: RunInfo) -> dict[str, Any]:
    """The keys made from the run's logical date and data interval. A run without one (an
    asset-triggered run) has none of them, as in Airflow 3.1's task runner: ``{{ ds }}`` is
    then undefined (an error under the default StrictUndefined); ``task_instance_key_str``
    ends with the run id instead."""
    ld = run.logical_date
    if ld is None:
        return {"task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{run.run_id}"}
    dates = _date_strings(ld)
    return {
        "logical_date": ld,
        "execution_date": ld,
        **dates,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{dates['ds_nodash']}",
    }


def build_context(
    task: Any, dag: DAG, run: RunInfo, ti: RuntimeTaskInstance, **extra: Any
) -> Context:
    dag_run = DagRunView(
        run.dag_id,
        run.run_id,
        run.logical_date,
        run.data_interval_start,
        run.data_interval_end,
        run.conf,
        run.run_type,
        run.start_date,
        run.external_trigger,
        run.run_after or run.logical_date,
    )
    ti.dag_run = dag_run
    context = Context(
        dag=dag,
        task=task,
        ti=ti,
        task_instance=ti,
        run_id=run.run_id,
        dag_run=dag_run,
        **_date_keys(dag, task, run),
        params=resolve_params(task.params, run.conf),
        macros=macros,
        var=template_var(),
        conn=ConnectionAccessor(),
        map_index=ti.map_index,
        map_index_template=getattr(task, "map_index_template", None),
        test_mode=False,
        task_state_store=TaskStateStoreAccessor(
            TaskScope(run.dag_id, run.run_id, str(task.task_id), ti.map_index)
        ),
        **_asset_keys(task, run),
        **extra,
    )
    return context


def _asset_keys(task: Any, run: RunInfo) -> dict[str, Any]:
    """The context's asset keys: the task's lineage, its events' accessors, the run's
    triggering events (both Airflow 3's and Airflow 2's name)."""
    inlets = list(getattr(task, "inlets", None) or [])
    outlets = list(getattr(task, "outlets", None) or [])
    triggering = TriggeringAssetEvents.from_json(run.asset_events)
    state: dict[str, Any] = {}
    if has_assets(inlets, outlets):  # (Airflow: only for a task with assets of its own)
        state["asset_state_store"] = AssetStateStoreAccessors(inlets, outlets)
    return state | {
        "inlets": inlets,
        "outlets": outlets,
        "outlet_events": OutletEventAccessors(outlets),
        "inlet_events": InletEventsAccessors(inlets, current_asset_event_reader()),
        "triggering_asset_events": triggering,
        "triggering_dataset_events": triggering.by_uri(),
    }
