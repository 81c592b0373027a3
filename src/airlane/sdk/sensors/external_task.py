"""ExternalTaskSensor and ExternalTaskMarker (``airflow.providers.standard.sensors.external_task``,
Airflow 2's ``airflow.sensors.external_task``).

The sensor reads the other DAG's runs at the logical dates it looks at through the run state
lookup the process installed (:mod:`airlane.sdk.run_states`: Redis on workers, the runs of the
process in ``dags test``) and decides as Airflow 3.1.8 does (:mod:`.external_counts`).
With ``deferrable=True`` it defers at once on a WorkflowTrigger (Airflow 3.1.8's), which reads
the same runs from the triggerer, and decides on its event in :meth:`execute_complete`.

The marker completes as the EmptyOperator it is; clearing it through the API with downstream
or downstream DAGs clears ``external_task_id`` of ``external_dag_id`` (and its downstream) in the
run at the marker's rendered ``logical_date`` (api/clear_across.py), as Airflow 2 does (Airflow
3.1.8 lost that clearing; apache/airflow#61451).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import AirflowSkipException
from airlane.sdk.operators.empty import EmptyOperator
from airlane.sdk.run_states import ExternalRun, RunStateLookup, current_run_state_lookup
from airlane.sdk.sensors import external_counts as counts
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.sensors.external_errors import (
    ExternalDagDeletedError,
    ExternalDagFailedError,
    ExternalDagNotFoundError,
    ExternalTaskFailedError,
    ExternalTaskGroupFailedError,
    ExternalTaskGroupNotFoundError,
    ExternalTaskNotFoundError,
)
from airlane.sdk.timezone import coerce_datetime
from airlane.sdk.triggers.external_task import WorkflowTrigger


class ExternalTaskSensor(BaseSensorOperator):
    """Waits for tasks, a task group or the whole run of another DAG at a logical date."""

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
        allowed_states: Iterable[str] | None = None,
        skipped_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: Callable[..., Any] | None = None,
        check_existence: bool = False,
        poll_interval: float | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        if poll_interval is not None:
            warnings.warn(
                "Parameter `poll_interval` is deprecated and will be removed in a future "
                "release. Use `poke_interval` instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.allowed_states = counts.state_values(allowed_states) or ["success"]
        self.skipped_states = counts.state_values(skipped_states)
        self.failed_states = counts.state_values(failed_states)
        task_ids = list(external_task_ids) if external_task_ids else None
        _check_targets(external_task_id, task_ids, external_task_group_id)
        if external_task_id is not None:
            task_ids = [external_task_id]
        counts.check_states(
            self.allowed_states,
            self.skipped_states,
            self.failed_states,
            waits_on_tasks=bool(task_ids or external_task_group_id),
        )
        if execution_delta is not None and execution_date_fn is not None:
            raise ValueError(
                "Only one of `execution_delta` or `execution_date_fn` may be provided to "
                "ExternalTaskSensor; not both."
            )
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = task_ids
        self.external_task_group_id = external_task_group_id
        self.check_existence = check_existence
        self.deferrable = deferrable
        self.external_dates_filter: str | None = None
        self._has_checked_existence = False

    def _dates(self, context: Context) -> list[datetime]:
        logical_date = context.get("logical_date")
        if logical_date is None:
            dag_run = context.get("dag_run")
            logical_date = getattr(dag_run, "run_after", None)
        if logical_date is None:
            raise ValueError(
                "Either `logical_date` or `dag_run.run_after` must be provided in the context"
            )
        found = counts.dates_to_check(
            logical_date, dict(context), self.execution_delta, self.execution_date_fn
        )
        return [_as_datetime(d) for d in found]

    def poke(self, context: Context) -> bool:
        task_ids = self.external_task_ids
        if task_ids and len(task_ids) > len(set(task_ids)):
            raise ValueError("Duplicate task_ids passed in external_task_ids parameter")
        dates = self._dates(context)
        self.external_dates_filter = ",".join(d.isoformat() for d in dates)
        current_log()(f"Poking for {self._what()} on {self.external_dates_filter} ... ")
        lookup = current_run_state_lookup()
        if self.check_existence and not self._has_checked_existence:
            self._check_for_existence(lookup)
        runs = lookup.runs_at(self.external_dag_id, dates, with_tasks=self._needs_tasks())
        group_task_ids = self._group_task_ids(lookup)
        if self.failed_states and self._count(runs, group_task_ids, self.failed_states) > 0:
            self._fail()
        if self.skipped_states and self._count(runs, group_task_ids, self.skipped_states) > 0:
            raise AirflowSkipException(
                f"{self._subject()} reached a state in our states-to-skip-on list. Skipping."
            )
        return self._count(runs, group_task_ids, self.allowed_states) == len(dates)

    async def aexecute(self, context: Context) -> Any:
        if self.deferrable:
            self._defer(context)
        return await super().aexecute(context)

    def _defer(self, context: Context) -> None:
        """Airflow 3.1.8's deferrable path: a WorkflowTrigger at once, with the sensor's
        timeout (its execution_timeout when it has none)."""
        timeout_s = self.timeout_s
        if not timeout_s and self.execution_timeout:
            timeout_s = self.execution_timeout.total_seconds()
        trigger = WorkflowTrigger(
            external_dag_id=self.external_dag_id,
            external_task_group_id=self.external_task_group_id,
            external_task_ids=self.external_task_ids,
            allowed_states=cast(list[str], self.allowed_states),
            failed_states=cast(list[str], self.failed_states),
            skipped_states=cast(list[str], self.skipped_states),
            poke_interval=self.poke_interval_s,
            soft_fail=self.soft_fail,
            logical_dates=self._dates(context),
            run_ids=None,
            execution_dates=None,
        )
        timeout = timedelta(seconds=timeout_s) if timeout_s else None
        self.defer(timeout=timeout, trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """The trigger's verdict (Airflow 3.1.8's messages)."""
        if event is None:
            raise ExternalTaskNotFoundError("No event received from trigger")
        dates = self._dates(context)
        self.external_dates_filter = ",".join(d.isoformat() for d in dates)
        status = event.get("status")
        if status == "success":
            current_log()(f"External tasks {self.external_task_ids} has executed successfully.")
        elif status == "skipped":
            raise AirflowSkipException("External job has skipped skipping.")
        elif status == "failed":
            if self.soft_fail:
                raise AirflowSkipException("External job has failed skipping.")
            raise ExternalDagFailedError("External job has failed.")
        else:
            if self.soft_fail:
                raise AirflowSkipException("External job has failed skipping.")
            raise ExternalTaskNotFoundError(
                "Error occurred while trying to retrieve task status. Please, check the "
                "name of executed task and Dag."
            )

    def _needs_tasks(self) -> bool:
        return bool(self.external_task_ids or self.external_task_group_id)

    def _group_task_ids(self, lookup: RunStateLookup) -> frozenset[str]:
        """The group's task ids (Airflow fails the poke when the group is unknown)."""
        group_id = self.external_task_group_id
        if not group_id or self.external_task_ids:
            return frozenset()
        shape = lookup.dag_shape(self.external_dag_id)
        if shape is None or group_id not in shape.groups:
            raise ExternalTaskGroupNotFoundError(
                f"Task group {group_id} not found in DAG {self.external_dag_id}"
            )
        return shape.groups[group_id]

    def _count(
        self, runs: list[ExternalRun], group_task_ids: frozenset[str], states: list[str | None]
    ) -> float:
        if self.external_task_ids:
            return counts.count_tasks(runs, self.external_task_ids, states)
        if self.external_task_group_id:
            return counts.count_group(runs, group_task_ids, states)
        return counts.count_runs(runs, states)

    def _what(self) -> str:
        if self.external_task_ids:
            return f"tasks {self.external_task_ids} in dag {self.external_dag_id}"
        if self.external_task_group_id:
            return f"task_group '{self.external_task_group_id}' in dag '{self.external_dag_id}'"
        return f"DAG '{self.external_dag_id}'"

    def _subject(self) -> str:
        if self.external_task_ids:
            ids = self.external_task_ids
            return f"Some of the external tasks {ids} in DAG {self.external_dag_id}"
        if self.external_task_group_id:
            group = self.external_task_group_id
            return f"The external task_group '{group}' in DAG {self.external_dag_id}"
        return f"The external DAG {self.external_dag_id}"

    def _fail(self) -> None:
        message = f"{self._subject()} failed."
        if self.soft_fail:
            raise AirflowSkipException(f"{message[:-1]}. Skipping due to soft_fail.")
        if self.external_task_ids:
            raise ExternalTaskFailedError(message)
        if self.external_task_group_id:
            raise ExternalTaskGroupFailedError(message)
        raise ExternalDagFailedError(message)

    def _check_for_existence(self, lookup: RunStateLookup) -> None:
        """Airflow 2's ``check_existence``: stop at once when the DAG, a task or the group is
        not there (Airflow 3.1.8's sensor accepts the flag and skips the check)."""
        shape = lookup.dag_shape(self.external_dag_id)
        if shape is None:
            raise ExternalDagNotFoundError(
                f"The external DAG {self.external_dag_id} does not exist."
            )
        if not shape.active:
            raise ExternalDagDeletedError(f"The external DAG {self.external_dag_id} was deleted.")
        for task_id in self.external_task_ids or ():
            if task_id not in shape.task_ids:
                raise ExternalTaskNotFoundError(
                    f"The external task {task_id} in DAG {self.external_dag_id} does not exist."
                )
        group_id = self.external_task_group_id
        if group_id and group_id not in shape.groups:
            raise ExternalTaskGroupNotFoundError(
                f"The external task group '{group_id}' in DAG '{self.external_dag_id}' "
                "does not exist."
            )
        self._has_checked_existence = True


def _check_targets(task_id: str | None, task_ids: Sequence[str] | None, group: str | None) -> None:
    hint = "use external_task_id or external_task_ids or external_task_group_id."
    if task_id is not None and task_ids is not None:
        raise ValueError(
            "Only one of `external_task_id` or `external_task_ids` may be provided to "
            f"ExternalTaskSensor; {hint}"
        )
    if group is not None and (task_id is not None or task_ids is not None):
        raise ValueError(
            "Only one of `external_task_group_id` or `external_task_ids` may be provided to "
            f"ExternalTaskSensor; {hint}"
        )


def _as_datetime(value: Any) -> datetime:
    found = coerce_datetime(value)
    if not isinstance(found, datetime):
        raise TypeError(f"execution_date_fn must return datetimes, got {type(value).__name__}")
    return found


class ExternalTaskMarker(EmptyOperator):
    """Marks that ``external_task_id`` of ``external_dag_id`` depends on this task: clearing
    this one with its downstream clears that one too (see the module's docstring)."""

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
        logical_date: str | datetime | None = "{{ logical_date.isoformat() }}",
        recursion_depth: int = 10,
        execution_date: str | datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        chosen = execution_date if execution_date is not None else logical_date
        if isinstance(chosen, datetime):
            self.logical_date = chosen.isoformat()
        elif isinstance(chosen, str):
            self.logical_date = chosen
        else:
            raise TypeError(
                f"Expected str or datetime.datetime type for logical_date. Got {type(chosen)}"
            )
        if recursion_depth <= 0:
            raise ValueError("recursion_depth should be a positive integer")
        self.recursion_depth = recursion_depth

    @property
    def execution_date(self) -> str:
        """Airflow 2's name of ``logical_date``."""
        return self.logical_date


__all__ = ["ExternalTaskMarker", "ExternalTaskSensor"]
