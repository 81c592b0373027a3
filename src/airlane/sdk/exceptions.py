"""Exceptions a DAG file or a task may raise, with Airflow's names."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


class AirflowException(Exception):
    """Base of every Airlane error a DAG author sees (Airflow's name, kept for compatibility)."""

    status_code = 500


AirlaneException = AirflowException


class AirflowSkipException(AirflowException):
    """Raised by a task to mark itself skipped."""


class AirflowFailException(AirflowException):
    """Raised by a task to fail at once, without retries."""


class AirflowSensorTimeout(AirflowException):
    """A sensor ran past its timeout: failed without retries (skipped with ``soft_fail``)."""


class AirflowTaskTimeout(AirflowException):
    """A task ran past its ``execution_timeout``."""


class AirflowRescheduleException(AirflowException):
    """A sensor in reschedule mode gives its slot back and runs again at ``reschedule_date``."""

    def __init__(self, reschedule_date: datetime) -> None:
        super().__init__(f"reschedule at {reschedule_date.isoformat()}")
        self.reschedule_date = reschedule_date


class AirflowNotFoundException(AirflowException):
    """A named object (variable, DAG, task) does not exist."""


class AirflowConfigException(AirflowException):
    """A configuration value is missing or wrong."""


class DuplicateTaskIdFound(AirflowException):
    """Two tasks of one DAG have the same id."""


class TaskAlreadyInTaskGroup(AirflowException):
    """A task was added to a second task group."""


class AirflowDagCycleException(AirflowException):
    """The DAG's dependencies form a cycle."""


class FailFastDagInvalidTriggerRule(AirflowException):
    """A fail-fast DAG (``fail_fast``, Airflow 2's ``fail_stop``) with a task whose trigger rule
    could run it after a failure, which fail-fast would have stopped."""

    ALLOWED_RULES = frozenset({"all_success", "all_done_setup_success"})

    @classmethod
    def check(cls, *, fail_fast: bool, trigger_rule: str) -> None:
        if fail_fast and str(trigger_rule) not in cls.ALLOWED_RULES:
            raise cls()

    def __str__(self) -> str:
        return "A 'fail_fast' dag can only have all_success trigger rule"


#: Airflow 2's name
FailStopDagInvalidTriggerRule = FailFastDagInvalidTriggerRule


class AirflowDagInconsistent(AirflowException):
    """The DAG's definition contradicts itself (for example a dependency across two DAGs)."""


class AirflowTimetableInvalid(AirflowException):
    """A custom timetable's ``validate()`` refuses how it was set up."""


class ParamValidationError(AirflowException):
    """A DAG param's value does not match its schema."""


class DagRunAlreadyExists(AirflowException):
    """A run with this id exists already."""


class TaskDeferred(BaseException):
    """An operator defers: its try ends ``deferred`` and gives its slot back; the triggerer runs
    ``trigger`` and, on its first event, the task resumes in ``method_name(context, event=...,
    **kwargs)``. A BaseException as in Airflow, so that ``except Exception`` in a task does not
    swallow it."""

    def __init__(
        self,
        *,
        trigger: Any,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> None:
        super().__init__()
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        if isinstance(timeout, int | float):
            timeout = timedelta(seconds=timeout)
        if timeout is not None and not hasattr(timeout, "total_seconds"):
            raise ValueError("Timeout value must be a timedelta")
        self.timeout: timedelta | None = timeout

    def __repr__(self) -> str:
        return f"<TaskDeferred trigger={self.trigger} method={self.method_name}>"


class TaskDeferralError(AirflowException):
    """A task failed during deferral (its trigger raised)."""


class TaskDeferralTimeout(AirflowException):
    """A deferred task's trigger ran past its timeout."""


class UnsupportedFeature(AirflowException):
    """An Airflow feature that Airlane does not provide; the message names it."""


class AirflowOptionalProviderFeatureException(AirflowException):
    """Raised by providers when a package an optional feature needs is not installed."""


class XComNotFound(AirflowException):
    """An XCom reference was resolved against an XCom that does not exist."""

    def __init__(self, dag_id: str, task_id: str, key: str) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.task_id = task_id
        self.key = key

    def __str__(self) -> str:
        return (
            f'XComArg result from {self.task_id} at {self.dag_id} with key="{self.key}" '
            "is not found!"
        )


class AirflowProviderDeprecationWarning(DeprecationWarning):
    """Issued by providers for their deprecated features."""

    #: the provider version that started raising this warning
    deprecated_provider_since: str | None = None
