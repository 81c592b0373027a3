"""BranchDateTimeOperator (Airflow's ``providers.standard.operators.datetime``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from airlane.sdk.context import Context
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.operators.python import BaseBranchOperator
from airlane.sdk.timezone import coerce_datetime, make_aware, utcnow

Target = datetime.datetime | datetime.time | None


class BranchDateTimeOperator(BaseBranchOperator):
    """Follow ``follow_task_ids_if_true`` when now (or the logical date, with
    ``use_task_logical_date``) lies between ``target_lower`` and ``target_upper``, else
    ``follow_task_ids_if_false``. Times of day are taken on now's date; naive targets are in
    the DAG's time zone."""

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        target_lower: Target,
        target_upper: Target,
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            raise AirflowException(
                "Both target_upper and target_lower are None. At least one "
                "must be defined to be compared to the current datetime"
            )
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context: Context) -> str | Iterable[str]:
        if self.use_task_logical_date:
            now = context.get("logical_date") or context["dag_run"].logical_date
        else:
            now = utcnow()
        zone = self.dag.timezone if self.dag else None
        lower, upper = (
            _aware(value, zone)
            for value in target_times_as_dates(now, self.target_lower, self.target_upper)
        )
        if upper is not None and upper < now:
            return self.follow_task_ids_if_false
        if lower is not None and lower > now:
            return self.follow_task_ids_if_false
        return self.follow_task_ids_if_true


def _aware(value: datetime.datetime | None, zone: str | None) -> datetime.datetime | None:
    if value is None or value.tzinfo is not None:
        return coerce_datetime(value)
    return make_aware(value, zone)


def target_times_as_dates(
    base_date: datetime.datetime, lower: Target, upper: Target
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """The targets as date-times: a time of day is put on ``base_date``'s date, and then an
    upper bound before the lower one is moved to the next day (two date-times stay as given)."""
    if isinstance(lower, datetime.datetime) and isinstance(upper, datetime.datetime):
        return lower, upper
    if isinstance(lower, datetime.time):
        lower = datetime.datetime.combine(base_date, lower)
    if isinstance(upper, datetime.time):
        upper = datetime.datetime.combine(base_date, upper)
    if lower is not None and upper is not None and upper < lower:
        upper += datetime.timedelta(days=1)
    return lower, upper
