"""The state counter of the external-task triggers (WorkflowTrigger, DagStateTrigger): how many
of the awaited runs, or of their tasks' instances, are in some states, read through an
:class:`~airlane.sdk.run_states.AsyncRunStateLookup` and counted as ExternalTaskSensor counts
(:mod:`airlane.sdk.sensors.external_counts`, Airflow 3.1.8's Execution API rules).

The process that runs triggers installs one with :func:`install_state_counter` (the triggerer
over Redis; ``dags test`` over the runs it drives).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from airlane.sdk.run_states import AsyncRunStateLookup, ExternalRun
from airlane.sdk.sensors import external_counts as counts
from airlane.sdk.timezone import coerce_datetime
from airlane.sdk.triggers.external_task import STATE_COUNTER, StateCounter


def _dates(raw: Sequence[Any] | None) -> list[datetime]:
    found = [coerce_datetime(value) for value in raw or ()]
    return [d for d in found if isinstance(d, datetime)]


async def _runs(
    lookup: AsyncRunStateLookup, kwargs: dict[str, Any], with_tasks: bool
) -> list[ExternalRun]:
    dag_id = str(kwargs["external_dag_id"])
    run_ids = kwargs.get("run_ids")
    if run_ids:
        return await lookup.runs_named(dag_id, [str(r) for r in run_ids], with_tasks=with_tasks)
    dates = _dates(kwargs.get("logical_dates") or kwargs.get("execution_dates"))
    return await lookup.runs_at(dag_id, dates, with_tasks=with_tasks) if dates else []


async def count_states(
    lookup: AsyncRunStateLookup, kwargs: dict[str, Any], states: Collection[Any] | None
) -> int:
    """Matching instances per task id (tasks), runs whose group is all in ``states`` (a task
    group), or runs in ``states`` (the whole DAG); ``states`` None matches every state."""
    task_ids = list(kwargs.get("external_task_ids") or ())
    group_id = kwargs.get("external_task_group_id")
    runs = await _runs(lookup, kwargs, with_tasks=bool(task_ids or group_id))
    if task_ids:
        wanted = counts.TASK_STATES if states is None else counts.state_values(states)
        return int(counts.count_tasks(runs, task_ids, wanted))
    if group_id:
        shape = await lookup.dag_shape(str(kwargs["external_dag_id"]))
        members = shape.groups.get(str(group_id), frozenset()) if shape else frozenset()
        wanted = counts.TASK_STATES if states is None else counts.state_values(states)
        return counts.count_group(runs, members, wanted)
    wanted = list(counts.DAG_STATES) if states is None else counts.state_values(states)
    return counts.count_runs(runs, wanted)


def state_counter(lookup: AsyncRunStateLookup) -> StateCounter:
    """The counter the external-task triggers call, over ``lookup``."""

    async def count(kwargs: dict[str, Any], states: Collection[str] | None) -> int:
        return await count_states(lookup, kwargs, states)

    return count


def install_state_counter(lookup: AsyncRunStateLookup) -> StateCounter:
    """Make ``lookup`` the one this process's external-task triggers read (the latest
    installed wins); returns the counter so that the caller can remove it."""
    counter = state_counter(lookup)
    STATE_COUNTER.append(counter)
    return counter


@contextmanager
def using_state_counter(lookup: AsyncRunStateLookup) -> Iterator[None]:
    """:func:`install_state_counter` for the time of a block (``dags test``'s inline triggers)."""
    counter = install_state_counter(lookup)
    try:
        yield
    finally:
        STATE_COUNTER.remove(counter)


__all__ = ["count_states", "install_state_counter", "state_counter", "using_state_counter"]
