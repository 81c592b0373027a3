"""The DAG-level settings of a serialized DAG, typed, with Airflow's defaults in one place.

The coordinator, the scheduler and the API read these through :class:`DagSpec` rather than
``dag.get(key, default)`` on the serialized dict (whose format this does not change). A key
missing from the dict, or present as ``null``, takes the default below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Airflow's default for a DAG's max_active_runs ([core] max_active_runs_per_dag)
DEFAULT_MAX_ACTIVE_RUNS = 16
#: Airflow's default for a DAG's max_active_tasks ([core] max_active_tasks_per_dag)
DEFAULT_MAX_ACTIVE_TASKS = 16
#: Airflow's default: a DAG is never paused for failed runs in a row
DEFAULT_MAX_CONSECUTIVE_FAILED_DAG_RUNS = 0
#: Airflow 3's default ([scheduler] catchup_by_default)
DEFAULT_CATCHUP = False
DEFAULT_TIMEZONE = "UTC"
#: the schedule kinds that carry an asset condition
ASSET_KINDS = ("assets", "asset_or_time")


@dataclass(frozen=True, slots=True)
class DagSpec:
    """What the engine and the services act on from a serialized DAG."""

    dag_id: str
    dag_display_name: str
    #: the serialized schedule (``sdk.schedules``): empty or of kind ``none`` when there is none
    schedule: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = DEFAULT_TIMEZONE
    #: ISO dates as serialized, None when unset
    start_date: str | None = None
    end_date: str | None = None
    catchup: bool = DEFAULT_CATCHUP
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS
    max_active_tasks: int = DEFAULT_MAX_ACTIVE_TASKS
    #: failed runs in a row that pause the DAG (0: never)
    max_consecutive_failed_dag_runs: int = DEFAULT_MAX_CONSECUTIVE_FAILED_DAG_RUNS
    #: Airflow's dagrun_timeout, None (or 0) for none
    dagrun_timeout_s: float | None = None
    fileloc: str = ""
    description: str | None = None
    tags: tuple[str, ...] = ()
    #: Airflow's fail_fast (fail_stop): a task's failure stops the run's other instances
    fail_fast: bool = False
    #: the DAG-level callbacks the DAG file defines (run by the callbacks role at a run's end)
    has_on_success_callback: bool = False
    has_on_failure_callback: bool = False
    #: Airflow 2's SubDagOperator: the DAG whose operator runs this one (never scheduled alone)
    parent_dag_id: str | None = None
    #: the asset condition (``engine.asset_condition``) of a DAG scheduled on assets (kinds
    #: ``assets`` and ``asset_or_time``), None otherwise
    asset_condition: Mapping[str, Any] | None = None
    #: Airflow 3.1's deadline alerts (``engine.deadlines``), as serialized
    deadlines: tuple[Mapping[str, Any], ...] = ()
    #: Airflow 3.2's ``allowed_run_types`` (``sdk.run_types``): None allows every kind
    allowed_run_types: frozenset[str] | None = None

    @property
    def has_schedule(self) -> bool:
        return str(self.schedule.get("kind", "none")) != "none"

    @classmethod
    def from_serialized(cls, dag: Mapping[str, Any]) -> DagSpec:
        """The spec of a serialized DAG (``dag_loader.serialize``); tolerant of missing keys."""
        dag_id = str(dag.get("dag_id") or "")
        return cls(
            dag_id=dag_id,
            dag_display_name=str(dag.get("dag_display_name") or dag_id),
            schedule=dict(dag.get("schedule") or {}),
            timezone=str(dag.get("timezone") or DEFAULT_TIMEZONE),
            start_date=_text_or_none(dag.get("start_date")),
            end_date=_text_or_none(dag.get("end_date")),
            catchup=bool(dag.get("catchup", DEFAULT_CATCHUP)),
            max_active_runs=_int(dag.get("max_active_runs"), DEFAULT_MAX_ACTIVE_RUNS),
            max_active_tasks=_int(dag.get("max_active_tasks"), DEFAULT_MAX_ACTIVE_TASKS),
            max_consecutive_failed_dag_runs=int(
                dag.get("max_consecutive_failed_dag_runs")
                or DEFAULT_MAX_CONSECUTIVE_FAILED_DAG_RUNS
            ),
            dagrun_timeout_s=_float_or_none(dag.get("dagrun_timeout_s")),
            fileloc=str(dag.get("fileloc") or ""),
            description=None if dag.get("description") is None else str(dag["description"]),
            tags=tuple(str(tag) for tag in dag.get("tags") or ()),
            fail_fast=bool(dag.get("fail_stop")),
            parent_dag_id=_text_or_none(dag.get("parent_dag_id")),
            has_on_success_callback=bool(dag.get("has_on_success_callback")),
            has_on_failure_callback=bool(dag.get("has_on_failure_callback")),
            asset_condition=_asset_condition(dag.get("schedule")),
            deadlines=tuple(a for a in dag.get("deadline") or () if isinstance(a, Mapping)),
            allowed_run_types=_kinds(dag.get("allowed_run_types")),
        )


def _kinds(value: Any) -> frozenset[str] | None:
    return None if value is None else frozenset(str(kind) for kind in value)


def _int(value: Any, default: int) -> int:
    """``value`` as an int, ``default`` when it is missing or null (0 stays 0)."""
    return default if value is None else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None


def _asset_condition(schedule: Any) -> Mapping[str, Any] | None:
    if not isinstance(schedule, Mapping) or schedule.get("kind") not in ASSET_KINDS:
        return None
    condition = schedule.get("condition")
    return condition if isinstance(condition, Mapping) else None
