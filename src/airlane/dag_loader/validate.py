"""Checks a DAG must pass before it is stored: no cycle, known references, a usable schedule."""

from __future__ import annotations

import re
from typing import Any

from airlane.dag_loader import plugins
from airlane.sdk.asset_schedule import AssetOrTimeSchedule, is_asset_schedule
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowDagCycleException, AirflowException
from airlane.sdk.timetables import is_custom_timetable
from airlane.sdk.trigger_rule import TriggerRule

#: Airflow's KEY_REGEX and 250-character limit for DAG and task ids. Besides Airflow's reason,
#: Airlane relies on it: Redis fields and refs join a DAG id to a run id and a task id to a map
#: index with "|" (queue/keys.py: run_ref, ti_field) and split them at the DAG id's end and
#: the map index's start, which is unambiguous only because these ids cannot contain "|".
_ID = re.compile(r"[\w.\-]{1,250}")


def find_cycle(dag: DAG) -> list[str] | None:
    """A cycle as a list of task ids (first repeated at the end), or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(dag.task_dict, white)
    parent: dict[str, str] = {}
    for root in dag.task_dict:
        if color[root] != white:
            continue
        stack: list[tuple[str, list[str]]] = [
            (root, sorted(dag.task_dict[root].downstream_task_ids))
        ]
        color[root] = grey
        while stack:
            node, children = stack[-1]
            if not children:
                color[node] = black
                stack.pop()
                continue
            child = children.pop()
            if color[child] == grey:
                cycle = [child, node]
                while cycle[-1] != child:
                    cycle.append(parent[cycle[-1]])
                return list(reversed(cycle))
            if color[child] == white:
                parent[child] = node
                color[child] = grey
                stack.append((child, sorted(dag.task_dict[child].downstream_task_ids)))
    return None


def validate_dag(dag: DAG) -> None:
    """Raise an AirflowException naming the problem when ``dag`` cannot be scheduled."""
    # The SDK checks dag_id and each task_id as given; a task group's prefix is not checked
    # there, so the final ids are checked here, before anything is stored.
    for what, value in (("dag_id", dag.dag_id), *(("task_id", t) for t in dag.task_dict)):
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise AirflowException(
                f"The {what} {value!r} has to be made of alphanumeric characters, dashes, "
                "dots and underscores exclusively (at most 250)"
            )
    cycle = find_cycle(dag)
    if cycle:
        raise AirflowDagCycleException(f"Cycle detected in DAG {dag.dag_id}: {' -> '.join(cycle)}")
    for task in dag.task_dict.values():
        for other in task.upstream_task_ids | task.downstream_task_ids:
            if other not in dag.task_dict:
                raise AirflowException(f"Task {task.task_id} depends on unknown task {other}")
    _check_setups(dag)
    _check_task_dates(dag)
    if dag.schedule is not None and dag.start_date is None and not is_asset_schedule(dag.schedule):
        starts = [getattr(t, "start_date", None) for t in dag.task_dict.values()]
        if not any(starts):
            raise AirflowException(
                f"DAG {dag.dag_id} has a schedule ({dag.schedule!r}) but no start_date; "
                "set start_date on the DAG or in default_args"
            )
    check_timetable_registered(dag)
    if dag.max_active_runs < 1 or dag.max_active_tasks < 1:
        raise AirflowException(
            f"DAG {dag.dag_id}: max_active_runs and max_active_tasks must be >= 1"
        )


def _check_task_dates(dag: DAG) -> None:
    """In a DAG on a time schedule, a task's own start_date later than its DAG's, or an
    end_date before the DAG's end, is refused: Airflow creates no instance of such a task in
    the scheduled (and catch-up) runs outside its dates (and a run whose downstream tasks wait
    on it then deadlocks), which Airlane does not do; a task that inherits the DAG's dates
    (``default_args``) passes, and so does any task of a DAG run by hand or by assets only."""
    timed = isinstance(dag.schedule, AssetOrTimeSchedule) or not is_asset_schedule(dag.schedule)
    if dag.schedule is None or not timed:
        return
    starts = [s for s in (getattr(t, "start_date", None) for t in dag.task_dict.values()) if s]
    dag_start = dag.start_date or (min(starts) if starts else None)
    for task in dag.task_dict.values():
        start, end = getattr(task, "start_date", None), getattr(task, "end_date", None)
        if start is not None and dag_start is not None and start > dag_start:
            raise AirflowException(
                f"Task {task.task_id} of DAG {dag.dag_id} starts on {start.isoformat()}, after "
                f"its DAG ({dag_start.isoformat()}): Airflow leaves such a task out of earlier "
                "runs, which Airlane does not; give the DAG the task's start_date, or put the "
                "task in a DAG of its own"
            )
        if end is not None and (dag.end_date is None or end < dag.end_date):
            raise AirflowException(
                f"Task {task.task_id} of DAG {dag.dag_id} ends on {end.isoformat()}, before "
                "its DAG: Airflow leaves such a task out of later runs, which Airlane does "
                "not; give the DAG the task's end_date, or put the task in a DAG of its own"
            )


def _check_setups(dag: DAG) -> None:
    """Airflow's ``validate_setup_teardown``: a setup's direct downstream work tasks keep the
    all_success rule (clearing an indirect setup depends on it)."""
    for task in dag.task_dict.values():
        if not task.is_setup:
            continue
        for down in task.downstream_task_ids:
            other = dag.task_dict[down]
            if not other.is_teardown and other.trigger_rule != TriggerRule.ALL_SUCCESS:
                raise AirflowException(
                    "Setup tasks must be followed with trigger rule ALL_SUCCESS."
                )


def check_timetable_registered(dag: DAG) -> None:
    """Airflow's rule: the scheduler re-creates a custom timetable by class path, so a plugin
    must register the class (one defined in the DAG file only cannot be scheduled)."""
    if not is_custom_timetable(dag.schedule):
        return
    path = plugins.class_path(type(dag.schedule))
    if plugins.timetable_class(path) is type(dag.schedule):
        _check_round_trip(dag.schedule, path)
        limit = dag.schedule.active_runs_limit
        if limit is not None and limit < dag.max_active_runs:
            raise AirflowException(
                f"Invalid max_active_runs: {type(dag.schedule).__name__} "
                f"requires max_active_runs <= {limit}"
            )
        return
    message = (
        f"Timetable class {path!r} is not registered: list it in the timetables of an "
        f"AirflowPlugin in the plugins folder (${plugins.PLUGINS_FOLDER_ENV})"
    )
    broken = plugins.import_errors()
    if broken:
        message += "; plugins that failed to load: " + "; ".join(
            f"{file}: {why}" for file, why in sorted(broken.items())
        )
    raise AirflowException(message)


def _check_round_trip(timetable: Any, path: str) -> None:
    """The scheduler re-creates the timetable with ``deserialize(serialize())``: a timetable
    for which that fails is refused here, where its author sees it, not in the scheduler."""
    try:
        type(timetable).deserialize(timetable.serialize())
    except Exception as err:
        raise AirflowException(
            f"Timetable class {path!r} cannot be re-created from its serialize() output: "
            f"{type(err).__name__}: {err}"
        ) from err
