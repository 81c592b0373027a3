"""The DAG: a named graph of tasks with a schedule."""

from __future__ import annotations

import inspect
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airlane.sdk import _stack, ui_options
from airlane.sdk.asset_schedule import AssetOrTimeSchedule, is_asset_schedule
from airlane.sdk.deadline import deadline_list
from airlane.sdk.exceptions import (
    AirflowException,
    DuplicateTaskIdFound,
    FailFastDagInvalidTriggerRule,
)
from airlane.sdk.params import NOTSET, ParamsDict
from airlane.sdk.run_types import allowed_run_types as checked_run_types
from airlane.sdk.schedules import validate_schedule
from airlane.sdk.timezone import coerce_datetime, timezone_name

if TYPE_CHECKING:
    from airlane.sdk.node import DAGNode
    from airlane.sdk.taskgroup import TaskGroup

_SDK_DIR = os.path.dirname(os.path.abspath(__file__))
_collector: list[DAG] | None = None


def _caller_location() -> tuple[str, int]:
    """File and line of the first frame outside the SDK: where the DAG author wrote the call."""
    frame = inspect.currentframe()
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_SDK_DIR):
            return filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


def start_collecting() -> list[DAG]:
    """Record every DAG created from now on (the loader uses it to find auto-registered DAGs)."""
    global _collector
    _collector = []
    return _collector


def stop_collecting() -> None:
    global _collector
    _collector = None


class DAG:
    """A DAG as in Airflow: use it as a context manager, or pass ``dag=`` to operators."""

    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        schedule: Any = NOTSET,
        schedule_interval: Any = NOTSET,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        template_searchpath: str | Iterable[str] | None = None,
        user_defined_macros: dict[str, Any] | None = None,
        user_defined_filters: dict[str, Callable[..., Any]] | None = None,
        default_args: dict[str, Any] | None = None,
        concurrency: int | None = None,
        max_active_tasks: int = 16,
        max_active_runs: int = 16,
        max_consecutive_failed_dag_runs: int = 0,
        dagrun_timeout: timedelta | None = None,
        catchup: bool = False,
        on_success_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_failure_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        doc_md: str | None = None,
        params: Mapping[str, Any] | None = None,
        is_paused_upon_creation: bool | None = None,
        render_template_as_native_obj: bool = False,
        tags: Iterable[str] | None = None,
        owner_links: dict[str, str] | None = None,
        dag_display_name: str | None = None,
        fail_stop: bool = False,
        fail_fast: bool = False,
        auto_register: bool = True,
        # Airflow 2's UI options and access_control (sdk/ui_options.py)
        default_view: str | None = None,
        orientation: str = "LR",
        access_control: Mapping[str, Any] | None = None,
        # Airflow 3.1's deadline alerts (sdk/deadline.py): one DeadlineAlert or a list
        deadline: Any = None,
        # Airflow 3.2's kinds of runs the DAG may have (sdk/run_types.py)
        allowed_run_types: Any = None,
        # Accepted for compatibility and not used by Airlane.
        timetable: Any = None,
        template_undefined: Any = None,
        jinja_environment_kwargs: dict[str, Any] | None = None,
        sla_miss_callback: Any = None,
        full_filepath: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"DAG got unexpected keyword arguments: {sorted(kwargs)}")
        if full_filepath is not None:  # (Airflow 2's warning: the argument changes nothing)
            warnings.warn(
                "Passing full_filepath to DAG() is deprecated and has no effect",
                DeprecationWarning,
                stacklevel=2,
            )
        if sla_miss_callback is not None:
            warnings.warn(
                "The SLA feature is removed in Airflow 3.0, and replaced with a Deadline Alerts "
                "in >=3.1",
                stacklevel=2,
            )
        _validate_id(dag_id, "dag_id")
        self.dag_id = dag_id
        self.fileloc, self.lineno = _caller_location()
        self.description = description
        self.default_args = dict(default_args or {})
        self.schedule = _pick_schedule(schedule, schedule_interval, timetable)
        validate_schedule(self.schedule)
        self.start_date = coerce_datetime(start_date or self.default_args.get("start_date"))
        self.end_date = coerce_datetime(end_date or self.default_args.get("end_date"))
        self.template_searchpath = _as_list(template_searchpath)
        self.user_defined_macros = user_defined_macros or {}
        self.user_defined_filters = user_defined_filters or {}
        self.max_active_tasks = concurrency if concurrency is not None else max_active_tasks
        self.max_active_runs = max_active_runs
        self.max_consecutive_failed_dag_runs = max_consecutive_failed_dag_runs
        self.dagrun_timeout = dagrun_timeout
        self.catchup = catchup
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.deadline = deadline_list(deadline)
        self.allowed_run_types = checked_run_types(
            allowed_run_types,
            asset_scheduled=is_asset_schedule(self.schedule),
            time_scheduled=_schedules(self.schedule),
        )
        self.doc_md = doc_md
        self.params = ParamsDict(self.default_args.get("params", {}))
        for key, value in (params or {}).items():
            self.params[key] = value
        self.is_paused_upon_creation = is_paused_upon_creation
        self.render_template_as_native_obj = render_template_as_native_obj
        self.tags = list(tags or [])
        self.owner_links = owner_links or {}
        self.dag_display_name = dag_display_name or dag_id
        #: Airflow 3's fail_fast (Airflow 2's fail_stop): a failed task stops the run's others
        self.fail_fast = bool(fail_fast or fail_stop)
        self.auto_register = auto_register
        self.default_view = ui_options.check_default_view(default_view)
        self.orientation = ui_options.check_orientation(orientation)
        self.access_control = ui_options.check_access_control(access_control)
        self.jinja_environment_kwargs = jinja_environment_kwargs or {}
        #: the Jinja Undefined class of its templates (Airflow's default: StrictUndefined)
        self.template_undefined = template_undefined
        self.task_dict: dict[str, DAGNode] = {}
        self.edge_info: dict[str, dict[str, dict[str, str]]] = {}
        self.entered = False
        #: Airflow 2's SubDagOperator: the DAG this one is a sub-DAG of (set by the loader)
        self.parent_dag: DAG | None = None
        from airlane.sdk.taskgroup import TaskGroup

        self.task_group: TaskGroup = TaskGroup.create_root(self)
        if _collector is not None:
            _collector.append(self)

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"

    def __enter__(self) -> DAG:
        self.entered = True
        _stack.push_dag(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _stack.pop_dag()

    def add_result(self, xcom_arg: Any) -> Any:
        """Airflow 3.3: make a task's return value (``task()``'s XComArg) the run's result."""
        from airlane.sdk.decorators import is_dag_result

        if not is_dag_result(xcom_arg):
            raise ValueError("Only plain return value can be used as dag result")
        xcom_arg.operator.returns_dag_result = True
        return xcom_arg

    @property
    def fail_stop(self) -> bool:
        """Airflow 2's name of ``fail_fast``."""
        return self.fail_fast

    @property
    def timezone(self) -> str:
        return timezone_name(self.start_date)

    @property
    def tasks(self) -> list[DAGNode]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    @property
    def owner(self) -> str:
        owners = {getattr(t, "owner", "airflow") for t in self.task_dict.values()}
        return (
            ", ".join(sorted(owners)) if owners else str(self.default_args.get("owner", "airflow"))
        )

    @property
    def is_subdag(self) -> bool:
        return self.parent_dag is not None

    @property
    def subdags(self) -> list[DAG]:
        """Airflow 2's ``DAG.subdags``: the DAGs its SubDagOperators run, depth first."""
        from airlane.sdk.operators.subdag import subdags

        return subdags(self)

    @property
    def roots(self) -> list[DAGNode]:
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[DAGNode]:
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> DAGNode:
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise AirflowException(f"Task {task_id} not found in DAG {self.dag_id}") from None

    def add_task(self, task: DAGNode) -> None:
        if task.task_id in self.task_dict and self.task_dict[task.task_id] is not task:
            raise DuplicateTaskIdFound(
                f"Task id '{task.task_id}' has already been added to the DAG {self.dag_id}"
            )
        self.task_dict[task.task_id] = task
        rule = getattr(task, "trigger_rule", "all_success")
        FailFastDagInvalidTriggerRule.check(fail_fast=self.fail_fast, trigger_rule=rule)

    def add_tasks(self, tasks: Iterable[DAGNode]) -> None:
        for task in tasks:
            task._attach_to_dag(self)

    def cli(self) -> None:
        """``dag.cli()`` in ``__main__`` blocks: Airflow's DAG-scoped commands on this file's DAGs
        (``python my_dag.py dags test``, ``tasks list``, ``tasks test <task_id>``); exits."""
        from airlane.cli import dag_cli

        dag_cli.run(self)

    def test(
        self,
        logical_date: datetime | None = None,
        run_conf: dict[str, Any] | None = None,
        conn_file_path: str | None = None,
        variable_file_path: str | None = None,
        use_executor: bool = False,
        mark_success_pattern: str | re.Pattern[str] | None = None,
        *,
        execution_date: datetime | None = None,
        run_after: datetime | None = None,
    ) -> Any:
        """Run this DAG once in this process (Airflow's ``dag.test()``) and return the result.

        Airflow 3's keywords (``logical_date``, ``run_after``: the run's, in its context) and
        Airflow 2's (``execution_date``, also the first positional argument there) are accepted.
        Variables come from ``variable_file_path`` first, then the environment; tasks whose id
        matches ``mark_success_pattern`` succeed without running. ``conn_file_path`` and
        ``use_executor`` are refused (connections come from the environment and the store;
        the run is in process).
        """
        from airlane.sdk.variables_file import variables_from_file
        from airlane.service.execution.local_runner import run_dag_object

        if conn_file_path is not None:
            raise AirflowException(
                "dag.test(conn_file_path=...) is not supported: set connections in the "
                "environment (AIRFLOW_CONN_<ID>) instead"
            )
        if use_executor:
            raise AirflowException("dag.test(use_executor=True): Airlane runs dag.test in process")
        if isinstance(mark_success_pattern, re.Pattern):  # Airflow takes both forms
            mark_success_pattern = mark_success_pattern.pattern
        with variables_from_file(variable_file_path):
            return run_dag_object(
                self,
                logical_date=logical_date or execution_date,
                conf=run_conf or {},
                mark_success_pattern=mark_success_pattern,
                run_after=run_after,
            )


def _pick_schedule(schedule: Any, schedule_interval: Any, timetable: Any) -> Any:
    given = [v for v in (schedule, schedule_interval) if v is not NOTSET]
    if len(given) > 1:
        raise AirflowException("Pass only one of schedule and schedule_interval")
    if timetable is not None:
        if given:
            raise AirflowException("Pass only one of schedule and timetable")
        return timetable
    return given[0] if given else None


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _validate_id(value: str, what: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[\w.\-]{1,250}", value):
        raise AirflowException(
            f"The {what} {value!r} has to be made of alphanumeric characters, dashes, "
            f"dots and underscores exclusively (at most 250)"
        )


validate_key = _validate_id


def _schedules(schedule: Any) -> bool:
    """Whether the schedule (a time schedule, or assets or time) creates runs on its own: a
    timetable that cannot be scheduled (Airflow's NullTimetable) does not."""
    if isinstance(schedule, AssetOrTimeSchedule):
        schedule = schedule.timetable
    elif schedule is None or is_asset_schedule(schedule):
        return False
    return bool(getattr(schedule, "can_be_scheduled", True))
