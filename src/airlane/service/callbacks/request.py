"""What a DAG callback's child process needs, read from Redis at delivery time: the run, its
DAG file, and the instance whose context the callback gets."""

from __future__ import annotations

from typing import Any

import orjson
import pendulum

from airlane.engine.dag_spec import DagSpec
from airlane.queue.callback_jobs import CallbackKind
from airlane.queue.deadline_jobs import DeadlineCallbackJob
from airlane.queue.store import Store
from airlane.queue.task_callback_jobs import CallbackJob, TaskCallbackJob, TaskCallbackKind
from airlane.service.callbacks.callback_process import CallbackRequest
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.dag_callbacks import LastTI, last_ti
from airlane.service.run_shape import dag_run_response


class RunGone(LookupError):
    """The run (or its DAG) is no longer stored: nothing to call the callback about."""


def _date(text: str | None) -> pendulum.DateTime | None:
    """A run's date; None when it has none (an asset-triggered run's logical date)."""
    return pendulum.parse(text) if text else None  # type: ignore[return-value]


def run_info(run: dict[str, str]) -> RunInfo:
    logical = run.get("logical_date")
    start = run.get("start_date")
    return RunInfo(
        dag_id=run["dag_id"],
        run_id=run["run_id"],
        logical_date=_date(logical),
        data_interval_start=_date(run.get("data_interval_start") or logical),
        data_interval_end=_date(run.get("data_interval_end") or logical),
        conf=_conf(run.get("conf")),
        run_type=run.get("run_type") or "manual",
        start_date=pendulum.from_timestamp(float(start)) if start else None,
        asset_events=_events(run.get("asset_events")),
        run_after=_date(run.get("run_after") or logical),
    )


def _events(raw: str | None) -> tuple[dict[str, Any], ...]:
    value = orjson.loads(raw) if raw else []
    return tuple(value) if isinstance(value, list) else ()


def _conf(raw: str | None) -> dict[str, Any]:
    value = orjson.loads(raw) if raw else {}
    return value if isinstance(value, dict) else {}


async def build_request(
    store: Store,
    job: CallbackJob,
    redis_url: str,
    dags_folder: str | None,
    skip: frozenset[int] = frozenset(),
) -> CallbackRequest:
    run = await store.run(job.dag_id, job.run_id)
    if run is None or "dag_id" not in run:  # (a hash of stray fields is no run)
        raise RunGone(f"run {job.run_id} of {job.dag_id} is no longer stored")
    dag = await store.snapshot(run.get("dag_hash", "")) if run.get("dag_hash") else None
    dag = dag or await store.dag(job.dag_id)
    if dag is None:
        raise RunGone(f"DAG {job.dag_id} is no longer stored")
    fileloc = DagSpec.from_serialized(dag).fileloc
    if isinstance(job, TaskCallbackJob):
        return CallbackRequest(
            redis_url=redis_url,
            dags_folder=dags_folder,
            fileloc=fileloc,
            success=False,
            reason=job.reason,
            run=run_info(run),
            last=_dead_try(job),
            skip=skip,
            task_kind=job.kind.value,
        )
    if isinstance(job, DeadlineCallbackJob):
        return CallbackRequest(
            redis_url=redis_url,
            dags_folder=dags_folder,
            fileloc=fileloc,
            success=False,
            reason="deadline_missed",
            run=run_info(run),
            last=None,
            skip=skip,
            deadline_index=job.alert_index,
            deadline_s=job.deadline_s,
            dag_run=dag_run_response(dag, run),
            deadline_path=_callback_path(dag, job.alert_index),
        )
    instances = await store.task_instances(job.dag_id, job.run_id)
    last = last_ti(
        LastTI(task_id, map_index, record.try_number, record.max_tries, record.state.value)
        for (task_id, map_index), (record, _) in instances.items()
    )
    return CallbackRequest(
        redis_url=redis_url,
        dags_folder=dags_folder,
        fileloc=fileloc,
        success=job.kind is CallbackKind.SUCCESS,
        reason=job.reason.value,
        run=run_info(run),
        last=last,
        skip=skip,
    )


def _callback_path(dag: dict[str, Any], index: int) -> str:
    """The callable the run's DAG version names for alert ``index`` ("" when it has none)."""
    alerts = dag.get("deadline") or []
    if index >= len(alerts):
        return ""
    return str((alerts[index].get("callback") or {}).get("path") or "")


def _dead_try(job: TaskCallbackJob) -> LastTI:
    """The try the job is about, in the state the coordinator gave it."""
    state = "up_for_retry" if job.kind is TaskCallbackKind.RETRY else "failed"
    return LastTI(job.task_id, job.map_index, job.try_number, job.max_tries, state)
