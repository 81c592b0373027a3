"""ExternalTaskSensor and ExternalTaskMarker (``airflow.providers.standard.sensors.external_task``,
Airflow 2's ``airflow.sensors.external_task``) as names a DAG file can use.

Waiting on a task of another DAG needs that DAG's run at the matching logical date, which
Airlane's tasks cannot read yet: the sensor loads with Airflow's arguments and its try fails
at once, without retry, saying so (real Airflow 3.1.8's ``dags test`` of the deferrable example
fails it too). ExternalTaskMarker completes as the EmptyOperator it is in Airflow; what it is
for in Airflow, clearing the external task when the marker is cleared recursively, Airlane does
not do, and a warning says so when the DAG file is loaded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any, ClassVar

from airlane.sdk.context import Context
from airlane.sdk.exceptions import AirflowFailException
from airlane.sdk.operators.empty import EmptyOperator
from airlane.sdk.sensors.base import BaseSensorOperator


class ExternalTaskSensor(BaseSensorOperator):
    """Waits for a task (or task group, or whole run) of another DAG; refused at run time."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "external_dag_id",
        "external_task_id",
        "external_task_ids",
        "external_task_group_id",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Collection[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Collection[str] | None = None,
        skipped_states: Collection[str] | None = None,
        failed_states: Collection[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: Callable[..., Any] | None = None,
        check_existence: bool = False,
        poll_interval: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if external_task_id is not None and external_task_ids is not None:
            raise ValueError(
                "Only one of `external_task_id` or `external_task_ids` may be provided"
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise ValueError("Only one of `execution_delta` or `execution_date_fn` may be provided")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = (
            [external_task_id] if external_task_id is not None else external_task_ids
        )
        self.external_task_group_id = external_task_group_id
        self.allowed_states = list(allowed_states or ["success"])
        self.skipped_states = list(skipped_states or [])
        self.failed_states = list(failed_states or [])
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence
        self.poll_interval = poll_interval

    def poke(self, context: Context) -> bool:
        what = self.external_task_ids or self.external_task_group_id or "its run"
        raise AirflowFailException(
            f"ExternalTaskSensor waits for {self.external_dag_id} ({what}): Airlane's tasks "
            "cannot read another DAG's runs yet, so this sensor cannot run"
        )


class ExternalTaskMarker(EmptyOperator):
    """Marks that a task of another DAG depends on this one; completes without running."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "external_dag_id",
        "external_task_id",
        "logical_date",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | None = "{{ logical_date.isoformat() }}",
        recursion_depth: int = 10,
        execution_date: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if recursion_depth <= 0:
            raise ValueError("recursion_depth should be a positive integer")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.logical_date = execution_date or logical_date
        self.recursion_depth = recursion_depth
        warnings.warn(
            f"ExternalTaskMarker {self.task_id!r}: Airlane does not clear "
            f"{external_dag_id}.{external_task_id} when this task is cleared (Airflow's "
            "recursive clear across DAGs)",
            UserWarning,
            stacklevel=2,
        )


__all__ = ["ExternalTaskMarker", "ExternalTaskSensor"]
