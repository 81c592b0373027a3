"""TriggerDagRunOperator: start a run of another DAG, optionally waiting for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.state import DagRunState
from airlane.sdk.timezone import coerce_datetime
from airlane.sdk.triggers.external_task import DagStateTrigger


class DagIsPaused(AirflowException):
    """The DAG to trigger is paused (``fail_when_dag_is_paused``)."""

    def __init__(self, dag_id: str) -> None:
        super().__init__(dag_id)
        self.dag_id = dag_id

    def __str__(self) -> str:
        return f"Dag {self.dag_id} is paused"


class TriggerDagRunOperator(BaseOperator):
    """Trigger ``trigger_dag_id`` with ``conf``; with ``wait_for_completion`` wait for its end
    (on the worker's event loop, or deferred on a DagStateTrigger with ``deferrable=True``)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "trigger_dag_id",
        "trigger_run_id",
        "logical_date",
        "conf",
        "wait_for_completion",
        "skip_when_already_exists",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"conf": "py"}
    ui_color = "#ffefeb"
    task_kind: ClassVar[str] = "trigger_dagrun"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | datetime | None = None,
        execution_date: str | datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: float = 60,
        allowed_states: list[str] | None = None,
        failed_states: list[str] | None = None,
        skip_when_already_exists: bool = False,
        fail_when_dag_is_paused: bool = False,
        note: str | None = None,
        run_after: str | datetime | None = None,
        deferrable: bool = False,
        openlineage_inject_parent_info: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf or {}
        self.logical_date = logical_date or execution_date
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = poke_interval
        self.allowed_states = [DagRunState(s) for s in (allowed_states or [DagRunState.SUCCESS])]
        self.failed_states = [DagRunState(s) for s in (failed_states or [DagRunState.FAILED])]
        self.skip_when_already_exists = skip_when_already_exists
        self.fail_when_dag_is_paused = fail_when_dag_is_paused
        self.note = note
        #: the triggered run starts no sooner (Airflow 3: it stays queued until then)
        self.run_after = _checked_date("run_after", run_after)
        self.deferrable = deferrable
        # OpenLineage's parent information goes into the conf only where OpenLineage runs, as
        # in Airflow; Airlane has no OpenLineage listener, so there is none to add.
        self.openlineage_inject_parent_info = openlineage_inject_parent_info

    async def aexecute(self, context: Context) -> Any:
        launcher = context.get("run_launcher")
        if launcher is None:
            raise AirflowException("TriggerDagRunOperator needs a run launcher in this process")
        if self.fail_when_dag_is_paused and await launcher.is_paused(self.trigger_dag_id):
            raise DagIsPaused(self.trigger_dag_id)
        run_id = await launcher.trigger(
            dag_id=self.trigger_dag_id,
            run_id=self.trigger_run_id,
            conf=self.conf,
            logical_date=self.logical_date,
            skip_when_already_exists=self.skip_when_already_exists,
            reset_dag_run=self.reset_dag_run,
            run_after=_parsed_date(self.run_after),
            note=self.note,
        )
        context["ti"].xcom_push(key="trigger_run_id", value=run_id)
        if self.wait_for_completion and self.deferrable:
            # Airflow 3.1.8's task runner: the wait is a DagStateTrigger on the run's id
            trigger = DagStateTrigger(
                dag_id=self.trigger_dag_id,
                states=[s.value for s in (*self.allowed_states, *self.failed_states)],
                execution_dates=None,
                run_ids=[run_id],
                poll_interval=self.poke_interval,
            )
            self.defer(trigger=trigger, method_name="execute_complete")
        if self.wait_for_completion:
            state = await launcher.wait(self.trigger_dag_id, run_id, self.poke_interval)
            if state in self.failed_states:
                raise AirflowException(f"{self.trigger_dag_id} failed with failed states {state}")
            if state not in self.allowed_states:
                raise AirflowException(f"{self.trigger_dag_id} ended in state {state}")
        return run_id

    def execute(self, context: Context) -> Any:
        raise AirflowException("TriggerDagRunOperator runs on the event loop (aexecute)")

    def execute_complete(self, context: Context, event: Any = None) -> None:
        """The triggered runs ended (the DagStateTrigger's event: its classpath, then its
        arguments with each run id's state); a run in a failed state fails the task."""
        _, data = event
        run_ids = data["run_ids"]
        self.trigger_run_id = run_ids[0] if len(run_ids) == 1 else None
        failed = [run_id for run_id in run_ids if data.get(run_id) in self.failed_states]
        if failed:
            raise AirflowException(
                f"{self.trigger_dag_id} failed with failed states {self.failed_states} for "
                f"run_ids {failed}"
            )


def _checked_date(name: str, value: object) -> str | datetime | None:
    """Airflow's ``_validate_datetime_param``: a date, its ISO text or None."""
    if value is not None and not isinstance(value, str | datetime):
        raise TypeError(f"Expected str or datetime.datetime type for {name}. Got {type(value)}")
    return value


def _parsed_date(value: str | datetime | None) -> datetime | None:
    return coerce_datetime(value)  # (text that is no date: a ValueError fails the try)
