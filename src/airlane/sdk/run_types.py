"""``DAG(allowed_run_types=...)`` (Airflow 3.2+): the kinds of runs a DAG may have. Unset, every
kind; set, the API refuses a manual run or a backfill, TriggerDagRunOperator a run, and the
materialize endpoint a run, of a kind not listed. The DAG's own schedule's kind must be listed
(Airflow's validator: a DAG that could never run as scheduled is refused at load)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from airlane.sdk.exceptions import AirflowException
from airlane.sdk.timetable_base import DagRunType


def allowed_run_types(
    value: Any, *, asset_scheduled: bool, time_scheduled: bool
) -> frozenset[str] | None:
    """The kinds ``value`` allows (None: every kind), checked against the DAG's schedule:
    ``asset_scheduled`` (by assets, or assets or time: Airflow's AssetOrTimeSchedule is an
    AssetTriggeredTimetable), ``time_scheduled`` (a timetable that schedules), else a DAG run
    by hand."""
    if value is None:
        return None
    values: Iterable[Any] = [value] if isinstance(value, str | enum.Enum) else value
    kinds = frozenset(DagRunType(v.value if isinstance(v, enum.Enum) else v) for v in values)
    if not kinds:
        return None  # (Airflow serializes an empty list as none: every kind)
    if asset_scheduled:
        if DagRunType.ASSET_TRIGGERED not in kinds:
            raise ValueError(
                "allowed_run_types must include ASSET_TRIGGERED when the Dag is scheduled by assets"
            )
    elif time_scheduled:
        if DagRunType.SCHEDULED not in kinds:
            raise ValueError(
                "allowed_run_types must include SCHEDULED when the Dag has a schedule defined"
            )
    elif DagRunType.MANUAL not in kinds:
        raise ValueError(
            "allowed_run_types must include MANUAL when the Dag has no schedule defined "
            "(schedule=None)"
        )
    return frozenset(str(k.value) for k in kinds)


def refusal(dag_id: str, allowed: Iterable[str] | None, kind: DagRunType, what: str) -> str | None:
    """Airflow's message when the DAG does not allow runs of ``kind`` (None: it does);
    ``what``: how the message names them ("manual runs", "operator-triggered runs"...)."""
    if allowed is None or kind.value in set(allowed):
        return None
    return f"Dag with dag_id: '{dag_id}' does not allow {what}"


def check_operator_triggered(dag_id: str, allowed: Iterable[str] | None) -> None:
    """Fail TriggerDagRunOperator's try when the DAG leaves out runs that an operator triggers
    (Airflow's execution API refuses them with this message)."""
    if allowed is not None and DagRunType.OPERATOR_TRIGGERED.value not in set(allowed):
        raise AirflowException(f"Dag with dag_id '{dag_id}' does not allow operator-triggered runs")
