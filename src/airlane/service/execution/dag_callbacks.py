"""A DAG-level callback's context and its call, as Airflow 3 makes them.

Airflow 3.1 (``DagRun.handle_dag_callback`` for ``dags test``, the DAG processor's
``_execute_dag_callbacks`` for the scheduler) builds the full template context of the run's
*last* task instance (instances sorted by task id, naturally, removed ones left out; not the
failed one) and adds ``reason`` ("success", "task_failure", "timed_out"); a run without
instances gets only ``dag``, ``run_id`` and ``reason``. The callbacks are called in order,
each with that context; one that raises is logged and the next still runs.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from airlane.sdk.context import Context
from airlane.sdk.dag import DAG
from airlane.service.execution.context_builder import RunInfo, build_context
from airlane.service.execution.runtime_ti import RuntimeTaskInstance, XComAccess

#: Airflow's default ([core] max_xcom_size is for writes; a callback only reads)
_XCOM_MAX_BYTES = 48 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LastTI:
    """The instance whose context a DAG callback gets."""

    task_id: str
    map_index: int
    try_number: int
    max_tries: int
    state: str


def _natural_key(text: str) -> list[Any]:
    """natsort's order: digit runs compare as numbers (``task_10`` after ``task_9``)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text)]


_DIGITS = re.compile(r"(\d+)")


def last_ti(instances: Iterable[LastTI]) -> LastTI | None:
    """Airflow's ``DagRun.get_last_ti``: the last by natural order of task id (the highest
    map index of a mapped task), removed instances left out."""
    kept = [ti for ti in instances if ti.state != "removed"]
    if not kept:
        return None
    return max(kept, key=lambda ti: (_natural_key(ti.task_id), ti.map_index))


def callback_context(
    dag: DAG, run: RunInfo, last: LastTI | None, reason: str, xcoms: XComAccess
) -> Context:
    """The context a DAG callback of ``run`` is called with."""
    task = None if last is None else dag.task_dict.get(last.task_id)
    if last is None or task is None:
        return Context(dag=dag, run_id=run.run_id, reason=reason)
    context = instance_context(dag, task, run, last, xcoms)
    context["reason"] = reason
    return context


def instance_context(dag: DAG, task: Any, run: RunInfo, last: LastTI, xcoms: XComAccess) -> Context:
    """The template context of the try ``last`` of ``task`` in ``run``, its process gone (a
    DAG callback's, a dead try's task callback's)."""
    ti = RuntimeTaskInstance(
        dag=dag,
        task=task,
        run_id=run.run_id,
        map_index=last.map_index,
        try_number=last.try_number,
        max_tries=last.max_tries,
        logical_date=run.logical_date,
        xcoms=xcoms,
        xcom_max_bytes=_XCOM_MAX_BYTES,
        state=last.state,
    )
    return build_context(task, dag, run, ti)


def dag_callbacks(dag: DAG, success: bool) -> list[Any]:
    """The DAG's on_success_callback or on_failure_callback, as a list."""
    callbacks = dag.on_success_callback if success else dag.on_failure_callback
    if not callbacks:
        return []
    return list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]


def callback_name(callback: Any) -> str:
    return str(getattr(callback, "__name__", None) or type(callback).__name__)


def call_callback(callback: Any, context: Context) -> None:
    """Call one callback: a callable, or a notifier-like object with ``notify(context)``;
    a coroutine function is run to its end."""
    target: Callable[..., Any] = callback
    if not callable(callback) and callable(getattr(callback, "notify", None)):
        target = callback.notify
    result = target(context)
    if inspect.isawaitable(result):
        asyncio.run(_awaited(result))


async def _awaited(result: Any) -> None:
    await result


@dataclass(frozen=True, slots=True)
class CallbackResults:
    #: positions (in the DAG's list) of the callbacks that returned
    done: tuple[int, ...]
    #: the errors of those that raised
    errors: tuple[str, ...]


def run_callbacks(
    callbacks: list[Any],
    context: Context,
    log: Callable[[str], None],
    skip: frozenset[int] = frozenset(),
    what: str = "DAG callback",
    on_done: Callable[[int], None] | None = None,
) -> CallbackResults:
    """Call each callback in order but those at positions in ``skip`` (delivered by an earlier
    try); one that raises is logged and the next still runs. ``on_done`` is told the position
    of each that returned, as soon as it did."""
    done: list[int] = []
    errors: list[str] = []
    for position, callback in enumerate(callbacks):
        if position in skip:
            continue
        name = callback_name(callback)
        log(f"Executing {what} {name}")
        try:
            call_callback(callback, context)
        except Exception as err:
            message = f"{what} {name} failed: {type(err).__name__}: {err}"
            log(message)
            errors.append(message)
        else:
            done.append(position)
            if on_done is not None:
                on_done(position)
    return CallbackResults(tuple(done), tuple(errors))
