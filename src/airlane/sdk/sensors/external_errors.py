"""ExternalTaskSensor's errors, with the names and hierarchy of Airflow's
``airflow.providers.standard.exceptions``."""

from __future__ import annotations

from airlane.sdk.exceptions import AirflowException


class AirflowExternalTaskSensorException(AirflowException):
    """Base of every ExternalTaskSensor error."""


class ExternalDagNotFoundError(AirflowExternalTaskSensorException):
    """The external DAG does not exist."""


class ExternalDagDeletedError(AirflowExternalTaskSensorException):
    """The external DAG's file no longer defines it."""


class ExternalTaskNotFoundError(AirflowExternalTaskSensorException):
    """The external task does not exist."""


class ExternalTaskGroupNotFoundError(AirflowExternalTaskSensorException):
    """The external task group does not exist."""


class ExternalTaskFailedError(AirflowExternalTaskSensorException):
    """An external task reached one of the failed states."""


class ExternalTaskGroupFailedError(AirflowExternalTaskSensorException):
    """The external task group reached one of the failed states."""


class ExternalDagFailedError(AirflowExternalTaskSensorException):
    """The external DAG run reached one of the failed states."""


class DuplicateStateError(AirflowExternalTaskSensorException):
    """A state given in more than one of allowed, skipped and failed states."""


__all__ = [
    "AirflowExternalTaskSensorException",
    "DuplicateStateError",
    "ExternalDagDeletedError",
    "ExternalDagFailedError",
    "ExternalDagNotFoundError",
    "ExternalTaskFailedError",
    "ExternalTaskGroupFailedError",
    "ExternalTaskGroupNotFoundError",
    "ExternalTaskNotFoundError",
]
