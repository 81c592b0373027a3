"""Airflow's timetable protocol (``airflow.timetables.base``): what a custom timetable implements.

A ``Timetable`` subclass decides when a DAG's scheduled runs happen: ``next_dagrun_info`` is
asked for the run after the latest automated one (within a :class:`TimeRestriction`: the DAG's
start and end dates and catchup), ``infer_manual_data_interval`` gives a manually triggered
run its data interval. As in Airflow, the scheduler never imports the DAG file: it re-creates
the timetable from its class path and ``serialize()`` output with ``deserialize()``, so the
class must be registered by a plugin (``airlane.dag_loader.plugins``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple


class DataInterval(NamedTuple):
    """The interval a run works on; both ends aware datetimes."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        return cls(start=at, end=at)


class TimeRestriction(NamedTuple):
    """No run before ``earliest`` nor after ``latest`` (both inclusive, None: unbounded);
    ``catchup`` False: no run for missed schedules."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


class DagRunInfo(NamedTuple):
    """A run to create: not before ``run_after``, over ``data_interval``."""

    run_after: datetime
    data_interval: DataInterval

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        return cls(run_after=at, data_interval=DataInterval.exact(at))

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        return cls(run_after=end, data_interval=DataInterval(start, end))

    @property
    def logical_date(self) -> datetime:
        return self.data_interval.start


class DagRunType(enum.StrEnum):
    """The kinds of runs (``airflow.utils.types.DagRunType``)."""

    BACKFILL_JOB = "backfill"
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    #: a run TriggerDagRunOperator created (Airflow 3.2+)
    OPERATOR_TRIGGERED = "operator_triggered"
    ASSET_TRIGGERED = "asset_triggered"
    #: a run the API's "materialize asset" created (Airflow 3.2+)
    ASSET_MATERIALIZATION = "asset_materialization"

    def generate_run_id(self, suffix: Any = None, **kwargs: Any) -> str:
        """``<type>__<suffix>``: Airflow 3 passes ``suffix=``, Airflow 2 the logical date."""
        value = suffix if suffix is not None else kwargs.get("logical_date")
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        return f"{self.value}__{text}"


class Timetable:
    """The base of custom timetables (Airflow's ``Timetable`` protocol, with its defaults)."""

    description: str = ""
    periodic: bool = True
    can_be_scheduled: bool = True
    run_ordering: Sequence[str] = ("data_interval_end", "logical_date")
    active_runs_limit: int | None = None

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls()

    def serialize(self) -> dict[str, Any]:
        return {}

    def validate(self) -> None:
        return None

    @property
    def summary(self) -> str:
        return type(self).__name__

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        raise NotImplementedError()

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        raise NotImplementedError()

    def generate_run_id(
        self,
        *,
        run_type: DagRunType,
        run_after: datetime,
        data_interval: DataInterval | None,
        **extra: Any,
    ) -> str:
        """Airflow 3's default: ``<run type>__<run_after>``."""
        return run_type.generate_run_id(suffix=run_after.isoformat())
