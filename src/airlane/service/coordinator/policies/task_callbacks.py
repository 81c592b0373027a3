"""Task callbacks of tries that died with their worker (queue/task_callback_jobs.py): when
recovery fails such a try, the job that delivers its ``on_retry_callback`` (the try will be
retried) or ``on_failure_callback`` is recorded in the same batch as the try's end, and the
callbacks role delivers it.

Airflow 3.1 does the same for a task instance its executor reports finished while it is still
running or queued (a worker killed under it): ``TaskCallbackRequest`` with
``task_callback_type`` UP_FOR_RETRY when the instance is eligible to retry, else FAILED, run by
the DAG processor. A try whose task process died under a live worker reports its own failure
and gets no callback, as under Airflow's supervisor.
"""

from __future__ import annotations

from typing import Any

from airlane.engine.run_state import TIKey, TIRecord
from airlane.queue.callback_jobs import RUN_GENERATION, run_generation
from airlane.queue.task_callback_jobs import TaskCallbackJob, TaskCallbackKind
from airlane.sdk.state import TaskInstanceState
from airlane.service.run_context import RunContext

S = TaskInstanceState


def task_has_callback(dag: dict[str, Any], task_id: str, kind: TaskCallbackKind) -> bool:
    """Whether the serialized DAG's task defines that callback (its ``has_callbacks``) or
    sends an email at that end (its ``email_alerts``: the callbacks role sends it)."""
    end = "retry" if kind is TaskCallbackKind.RETRY else "failure"
    for task in dag.get("tasks") or ():
        if task.get("task_id") == task_id:
            emails = task.get("email_alerts") or ()
            return kind.value in (task.get("has_callbacks") or ()) or end in emails
    return False


def dead_try_job(
    ctx: RunContext,
    key: TIKey,
    before: TIRecord | None,
    try_number: int,
    reason: str,
    now_s: float,
) -> TaskCallbackJob | None:
    """The callback job of try ``try_number`` of ``key``, failed by recovery (``before`` is
    the instance before it was); None when the failure was not applied (a stale try) or the
    task has no such callback."""
    after = ctx.machine.tis.get(key)
    if before is None or after is None or before.try_number != try_number:
        return None
    if before.state not in (S.QUEUED, S.RUNNING) or after.try_number != try_number:
        return None
    if after.state is S.UP_FOR_RETRY:
        kind = TaskCallbackKind.RETRY
    elif after.state is S.FAILED:
        kind = TaskCallbackKind.FAILURE
    else:
        return None
    if not task_has_callback(ctx.dag, key.task_id, kind):
        return None
    generation = run_generation(ctx.fields.get(RUN_GENERATION))
    return TaskCallbackJob(
        dag_id=ctx.dag_id,
        run_id=ctx.run_id,
        task_id=key.task_id,
        map_index=key.map_index,
        try_number=try_number,
        max_tries=after.max_tries,
        kind=kind,
        reason=reason,
        ended_at_s=now_s,
        generation=generation,
    )
