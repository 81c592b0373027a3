"""ExternalTaskMarker when clearing (pure): which cleared instances are markers, what they
point at, how deep the chain may go.

Airflow 2 (``DAG._get_task_instances(include_dependent_dags=True)``, 2.10.5): among the
instances being cleared, each marker not visited yet has its template fields rendered for its
run; the instances of ``external_task_id`` of ``external_dag_id`` in the runs whose logical date
is the rendered ``logical_date`` are cleared with their downstream tasks (the same state filter
applies there), and markers among those are followed in turn. The first marker met sets the
maximum depth (its ``recursion_depth``); going past it fails the whole clear ("there may be a
cyclic dependency"). Airflow 3.1.8 dropped this (apache/airflow#61451); Airlane keeps Airflow 2's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MarkerSpec:
    """A marker's fields as serialized (``external_marker`` of a task; strings are templates)."""

    task_id: str
    external_dag_id: str
    external_task_id: str
    logical_date: str
    recursion_depth: int


class RecursionTooDeep(Exception):
    """A chain of markers longer than the first marker's ``recursion_depth``."""


def markers_among(dag: dict[str, Any], task_ids: Iterable[str]) -> list[MarkerSpec]:
    """The markers among ``task_ids`` of a serialized DAG, in task id order."""
    wanted = set(task_ids)
    found = []
    for task in dag.get("tasks", []):
        marker = task.get("external_marker")
        if marker and task["task_id"] in wanted:
            found.append(
                MarkerSpec(
                    task_id=task["task_id"],
                    external_dag_id=str(marker["external_dag_id"]),
                    external_task_id=str(marker["external_task_id"]),
                    logical_date=str(marker["logical_date"]),
                    recursion_depth=int(marker["recursion_depth"]),
                )
            )
    return sorted(found, key=lambda m: m.task_id)


@dataclass
class DepthGuard:
    """Airflow's limit: the first marker's ``recursion_depth`` bounds every chain."""

    max_depth: int | None = None

    def check(self, marker: MarkerSpec, depth: int) -> None:
        """Before following ``marker`` found at ``depth`` (0: in what was asked to clear)."""
        if self.max_depth is None:
            self.max_depth = marker.recursion_depth
        if depth + 1 > self.max_depth:
            raise RecursionTooDeep(
                f"Maximum recursion depth {self.max_depth} reached for ExternalTaskMarker "
                f"{marker.task_id}. Attempted to clear too many tasks or there may be a cyclic "
                "dependency."
            )
