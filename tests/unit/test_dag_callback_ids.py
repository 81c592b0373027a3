"""A DAG callback job's id comes from stored state: the same end replayed gives the same id,
a run reopened and ended again a new one."""

from __future__ import annotations

from typing import Any

import pytest

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.queue.callback_jobs import (
    RUN_GENERATION,
    CallbackKind,
    CallbackReason,
    DagCallbackJob,
    job_ids_of_run,
)
from airlane.sdk.state import TaskInstanceState as S
from airlane.service.coordinator.policies import dag_callbacks
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph


def _end_failed(now_s: float, monkeypatch: pytest.MonkeyPatch, **fields: str) -> DagCallbackJob:
    """A fresh coordinator (as after a restart) ends run r of d failed at ``now_s``."""
    monkeypatch.setattr(dag_callbacks.time, "time", lambda: now_s)
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": []}), has_on_failure_callback=True)
    ctx.fields.update(fields)
    key = TIKey("a", -1)
    ctx.machine.task_started(key, 1)
    session.progress.after_step(
        ctx, ctx.machine.task_finished(key, TaskOutcome(S.FAILED, 1), 1.0), 1.0
    )
    pending = [op for op in session.outbox.batch.ops if op[1] == session.keys.callbacks_pending]
    ((_, _, job_id, raw),) = pending
    job = DagCallbackJob.decode(raw)
    assert job.job_id == job_id
    return job


def test_a_replayed_end_makes_the_same_job_id(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _end_failed(1000.0, monkeypatch)
    replayed = _end_failed(1000.5, monkeypatch)
    assert replayed.job_id == first.job_id
    assert first.job_id == "airlane-dag-callback:d|r|on_failure_callback|g0"


def test_a_reopened_run_ended_again_makes_a_new_job_id(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _end_failed(1000.0, monkeypatch)
    again = _end_failed(1000.0, monkeypatch, **{RUN_GENERATION: "1"})
    assert again.generation == 1
    assert again.job_id != first.job_id
    assert again.job_id in job_ids_of_run("d", "r", 1)
    assert first.job_id in job_ids_of_run("d", "r", 1)


def test_a_job_recorded_before_generations_keeps_its_id() -> None:
    raw: Any = (
        '{"dag_id": "d", "run_id": "r", "kind": "on_success_callback", "reason": "success",'
        ' "ended_at_s": 1.5}'
    )
    job = DagCallbackJob.decode(raw)
    assert job.generation is None
    assert job.job_id == "airlane-dag-callback:d|r|on_success_callback|1500"
    assert DagCallbackJob.decode(job.encode()) == job
    new = DagCallbackJob("d", "r", CallbackKind.SUCCESS, CallbackReason.SUCCESS, 1.5, 2)
    assert DagCallbackJob.decode(new.encode()) == new
