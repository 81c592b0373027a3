"""ExternalTaskSensor's decisions, without I/O: which states are allowed where, which logical
dates to look at, and how the matching instances or runs are counted.

Airflow 3.1.8 (providers-standard 1.21.0, ``sensors/external_task.py``, the Execution API's
``/task-instances/count``, ``/task-instances/states`` and ``/dag-runs/count``):

- waiting on tasks: every instance of those tasks at those dates whose state is wanted counts
  once (each map index of a mapped task counts), and the sum is divided by the number of task
  ids; the sensor is done when that equals the number of dates (so a task mapped over three
  inputs makes 3 where 1 is awaited, and the sensor never succeeds on it: Airflow's rule);
- waiting on a task group: a run counts when it has instances of the group's tasks and every
  one of them is in a wanted state;
- waiting on the whole DAG: each run at those dates whose state is wanted counts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from airlane.sdk.operators.python import determine_kwargs
from airlane.sdk.run_states import ExternalRun
from airlane.sdk.sensors.external_errors import DuplicateStateError
from airlane.sdk.state import DagRunState, TaskInstanceState

#: Airflow's ``State.task_states``: None (no state yet) and every instance state
TASK_STATES: tuple[str | None, ...] = (
    None,
    *(s.value for s in TaskInstanceState if s is not TaskInstanceState.NONE),
)
#: Airflow's ``State.dag_states``
DAG_STATES: tuple[str, ...] = tuple(s.value for s in DagRunState)


def check_states(
    allowed: Sequence[str | None],
    skipped: Sequence[str | None],
    failed: Sequence[str | None],
    *,
    waits_on_tasks: bool,
) -> None:
    """Refuse states that repeat across the three lists, or that the awaited thing cannot
    reach (instance states for tasks and groups, run states for a whole DAG)."""
    total = set(allowed) | set(skipped) | set(failed)
    if len(total) != len(allowed) + len(skipped) + len(failed):
        raise DuplicateStateError(
            "Duplicate values provided across allowed_states, skipped_states and failed_states."
        )
    if waits_on_tasks:
        if not total <= set(TASK_STATES):
            raise ValueError(
                "Valid values for `allowed_states`, `skipped_states` and `failed_states` when "
                "`external_task_id` or `external_task_ids` or `external_task_group_id` is not "
                f"`None`: {list(TASK_STATES)}"
            )
    elif not total <= set(DAG_STATES):
        raise ValueError(
            "Valid values for `allowed_states`, `skipped_states` and `failed_states` when "
            f"`external_task_id` and `external_task_group_id` is `None`: {list(DAG_STATES)}"
        )


def state_values(states: Iterable[Any] | None) -> list[str | None]:
    """States as plain strings (enum members become their values; None stays None)."""
    return [None if s is None else str(getattr(s, "value", s)) for s in states or ()]


def dates_to_check(
    logical_date: datetime,
    context: dict[str, Any],
    execution_delta: timedelta | None,
    execution_date_fn: Callable[..., Any] | None,
) -> list[datetime]:
    """The logical dates of the other DAG's runs to look at: this run's, moved back by
    ``execution_delta``, or what ``execution_date_fn(logical_date, **what it names of the
    context)`` returns (one date or a list)."""
    if execution_delta:
        return [logical_date - execution_delta]
    if execution_date_fn is not None:
        kwargs = {k: v for k, v in context.items() if k not in ("execution_date", "logical_date")}
        kwargs["context"] = context
        result = execution_date_fn(
            logical_date, **determine_kwargs(execution_date_fn, [logical_date], kwargs)
        )
        return list(result) if isinstance(result, list) else [result]
    return [logical_date]


def _matches(state: str | None, states: Collection[str | None]) -> bool:
    # The Execution API reads "null" as "no state" (task-instances/count); None means it too.
    if state is None:
        return None in states or "null" in states
    return state in states


def count_tasks(
    runs: Iterable[ExternalRun], task_ids: Sequence[str], states: Collection[str | None]
) -> float:
    """Matching instances of ``task_ids`` (every map index), per task id."""
    wanted = set(task_ids)
    found = sum(
        1
        for run in runs
        for (task_id, _), state in run.task_states.items()
        if task_id in wanted and _matches(state, states)
    )
    return found / len(task_ids)


def count_group(
    runs: Iterable[ExternalRun], group_task_ids: Collection[str], states: Collection[str | None]
) -> int:
    """Runs whose instances of the group's tasks exist and are all in ``states``."""
    count = 0
    for run in runs:
        group = [s for (t, _), s in run.task_states.items() if t in group_task_ids]
        if group and all(_matches(s, states) for s in group):
            count += 1
    return count


def count_runs(runs: Iterable[ExternalRun], states: Collection[str | None]) -> int:
    """Runs whose own state is in ``states``."""
    return sum(1 for run in runs if run.state in states)


__all__ = [
    "DAG_STATES",
    "TASK_STATES",
    "check_states",
    "count_group",
    "count_runs",
    "count_tasks",
    "dates_to_check",
    "state_values",
]
