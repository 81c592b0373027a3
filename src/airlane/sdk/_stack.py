"""The authoring context: which DAG and task group a ``with`` block is defining.

Like Airflow's DagContext this is process-wide state by nature: a DAG file is plain Python
that creates operators inside ``with DAG(...)`` blocks, with no handle passed around.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airlane.sdk.dag import DAG
    from airlane.sdk.taskgroup import TaskGroup

_dags: list[DAG] = []
_groups: list[TaskGroup] = []


def push_dag(dag: DAG) -> None:
    _dags.append(dag)


def pop_dag() -> None:
    _dags.pop()


def current_dag() -> DAG | None:
    return _dags[-1] if _dags else None


def push_group(group: TaskGroup) -> None:
    _groups.append(group)


def pop_group() -> None:
    _groups.pop()


def current_group(dag: DAG | None) -> TaskGroup | None:
    """The innermost open task group, if it belongs to ``dag``."""
    for group in reversed(_groups):
        if dag is None or group.dag is dag:
            return group
    return None


@contextmanager
def detached() -> Iterator[None]:
    """Build operators that belong to no DAG (mapped prototypes and unmapped instances)."""
    saved_dags, saved_groups = _dags[:], _groups[:]
    _dags.clear()
    _groups.clear()
    try:
        yield
    finally:
        _dags[:] = saved_dags
        _groups[:] = saved_groups
