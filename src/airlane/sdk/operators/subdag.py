"""SubDagOperator (Airflow 2's ``airflow.operators.subdag``, removed in Airflow 3).

Airflow 2's semantics, kept here: the sub-DAG's ``dag_id`` must be ``<parent dag_id>.<task_id>``
(refused at load time otherwise); the DAG file's loader registers every sub-DAG as a DAG of its
own (as Airflow's DagBag bags ``dag.subdags``, with the parent's ``fileloc``), which the
scheduler never schedules by itself. The task is a sensor: it first creates the sub-DAG's run
at the parent run's logical date and data interval (``scheduled__<logical date>``, with
``conf``), or finds the one an earlier try created and, if that run failed, resets its failed
and upstream-failed instances so that they run again; it then pokes until the run is over
(``mode``, ``poke_interval``, ``timeout`` as for any sensor) and succeeds when the run
succeeded, fails otherwise. With ``propagate_skipped_state`` (``all_leaves`` / ``any_leaf``)
and the sub-run's leaves skipped accordingly, it skips its direct downstream tasks.

How: the sub-DAG runs as a real run of its own DAG, started through the run launcher that
TriggerDagRunOperator uses (``context["run_launcher"]``): on workers it is created in Redis and
the coordinator runs it like any other run (its tasks are queued, retried, logged, cleared and
shown as usual, with no second scheduler inside a task); under ``dags test`` the local launcher
runs it to completion in the same process. This is Airflow's own design (the sub-run is a
DagRun the scheduler executes while the operator waits) without its database polling: in poke
mode a poke waits on the run's end for up to ``poke_interval``, so the task ends as soon as the
sub-run does. Not kept: Airflow's check that the operator and a sub-DAG task share a one-slot
pool (Airlane's pools are not known when the file loads).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from enum import Enum
from typing import Any, Protocol

from airlane.sdk import _stack
from airlane.sdk.context import Context, current_log
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.state import DagRunState

DEPRECATION = "This class is deprecated. Please use `airflow.utils.task_group.TaskGroup`."
#: the run states in which the sub-run is still going
ACTIVE = (DagRunState.QUEUED, DagRunState.RUNNING)


class SkippedStatePropagationOptions(Enum):
    """Whether the sub-DAG's skipped leaves skip the operator's direct downstream tasks."""

    ALL_LEAVES = "all_leaves"
    ANY_LEAF = "any_leaf"


class SubDagLauncher(Protocol):
    """What the operator needs of ``context["run_launcher"]`` (service/run_launcher.py on
    workers, service/execution/local_runner.py under ``dags test``)."""

    async def start_subdag_run(
        self, *, subdag: DAG, run_id: str, dag_run: Any, conf: dict[str, Any]
    ) -> DagRunState | None:
        """Create the run; None when created, else the state of the run that exists."""

    async def reset_failed(self, dag_id: str, run_id: str) -> None:
        """Put the run's failed and upstream-failed instances back to run again."""

    async def run_state(self, dag_id: str, run_id: str, within_s: float) -> DagRunState | None:
        """The run's state once it is over, or after ``within_s`` seconds at the latest."""

    async def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Task id -> state of the run's (unmapped) instances."""


def subdag_run_id(dag_run: Any) -> str:
    """Airflow 2 creates the sub-run as a scheduled run at the parent's logical date."""
    return f"scheduled__{dag_run.logical_date.isoformat()}"


class SubDagOperator(BaseSensorOperator):
    """Run ``subdag`` (whose id is ``<parent>.<task_id>``) as a run of its own and wait for it."""

    ui_color = "#555"
    ui_fgcolor = "#fff"

    def __init__(
        self,
        *,
        subdag: DAG,
        session: Any = None,
        conf: dict[str, Any] | None = None,
        propagate_skipped_state: SkippedStatePropagationOptions | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        del session  # Airflow's SQLAlchemy session: Airlane has none
        if not isinstance(subdag, DAG):
            raise AirflowException(f"subdag must be a DAG; got {type(subdag).__name__}")
        self.subdag = subdag
        self.conf = conf
        self.propagate_skipped_state = (
            None if propagate_skipped_state is None
            else SkippedStatePropagationOptions(propagate_skipped_state)
        )  # fmt: skip
        _validate_dag(self, kwargs)
        warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=2)

    async def aexecute(self, context: Context) -> Any:
        launcher: SubDagLauncher | None = context.get("run_launcher")
        if launcher is None:
            raise AirflowException("SubDagOperator needs a run launcher in this process")
        await self._start(launcher, context)
        await super().aexecute(context)
        await self._finish(launcher, context)
        return None

    async def _start(self, launcher: SubDagLauncher, context: Context) -> None:
        log, dag_run = current_log(), context["dag_run"]
        run_id = subdag_run_id(dag_run)
        existing = await launcher.start_subdag_run(
            subdag=self.subdag, run_id=run_id, dag_run=dag_run, conf=dict(self.conf or {})
        )
        if existing is None:
            log(f"Created DagRun: {run_id}")
            return
        log(f"Found existing DagRun: {run_id}")
        if existing is DagRunState.FAILED:
            await launcher.reset_failed(self.subdag.dag_id, run_id)

    async def poke(self, context: Context) -> bool:  # type: ignore[override]  # async: see base
        launcher: SubDagLauncher = context["run_launcher"]
        within_s = 0.0 if self.reschedule else self.poke_interval_s
        run_id = subdag_run_id(context["dag_run"])
        state = await launcher.run_state(self.subdag.dag_id, run_id, within_s)
        return state not in ACTIVE

    async def _finish(self, launcher: SubDagLauncher, context: Context) -> None:
        run_id = subdag_run_id(context["dag_run"])
        state = await launcher.run_state(self.subdag.dag_id, run_id, 0.0)
        current_log()(f"Execution finished. State is {state}")
        if state is not DagRunState.SUCCESS:
            raise AirflowException(f"Expected state: SUCCESS. Actual state: {state}")
        if self.propagate_skipped_state is None:
            return
        states = await launcher.task_states(self.subdag.dag_id, run_id)
        leaves = [states[t.task_id] for t in self.subdag.leaves if t.task_id in states]
        if skipped_enough(self.propagate_skipped_state, leaves):
            current_log()(
                "Skipping downstream tasks because propagate_skipped_state is set to "
                f"{self.propagate_skipped_state} and skipped task(s) were found."
            )
            context["ti"].follow_branches(None)  # Airflow's skip() of the direct downstream


def skipped_enough(option: SkippedStatePropagationOptions, leaves: Iterable[str | None]) -> bool:
    skipped = [state == "skipped" for state in leaves]
    if option is SkippedStatePropagationOptions.ANY_LEAF:
        return any(skipped)
    return all(skipped)


def _validate_dag(operator: SubDagOperator, kwargs: dict[str, Any]) -> None:
    dag = kwargs.get("dag") or _stack.current_dag()
    if dag is None:
        raise AirflowException(
            "Please pass in the `dag` param or call within a DAG context manager"
        )
    expected = f"{dag.dag_id}.{kwargs['task_id']}"
    if operator.subdag.dag_id != expected:
        raise AirflowException(
            "The subdag's dag_id should have the form '{parent_dag_id}.{this_task_id}'. "
            f"Expected '{expected}'; received '{operator.subdag.dag_id}'."
        )


def subdags(dag: DAG) -> list[DAG]:
    """Airflow's ``DAG.subdags``: the sub-DAGs of ``dag``'s SubDagOperators, depth first."""
    found: list[DAG] = []
    for task in dag.task_dict.values():
        if isinstance(task, SubDagOperator):
            found.append(task.subdag)
            found += subdags(task.subdag)
    return found
