"""What DAG files import: DAG, operators, TaskFlow decorators, task groups, wiring helpers."""

from typing import Any

from airlane.sdk.asset_decorator import asset
from airlane.sdk.asset_schedule import AssetOrTimeSchedule
from airlane.sdk.assets import (
    Asset,
    AssetAccessControl,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetWatcher,
    Metadata,
)
from airlane.sdk.baseoperator import (
    BaseAsyncOperator,
    BaseOperator,
    chain,
    chain_linear,
    cross_downstream,
)
from airlane.sdk.configuration import conf
from airlane.sdk.connection import Connection
from airlane.sdk.context import Context, get_current_context
from airlane.sdk.dag import DAG
from airlane.sdk.deadline import (
    AsyncCallback,
    BaseDeadlineReference,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
    deadline_reference,
)
from airlane.sdk.decorators import dag, result, task, task_group
from airlane.sdk.edges import EdgeModifier, Label
from airlane.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from airlane.sdk.hooks.base import BaseHook
from airlane.sdk.literal import literal
from airlane.sdk.mapped import MappedOperator
from airlane.sdk.models import TaskInstance
from airlane.sdk.notifier import BaseNotifier
from airlane.sdk.operator_link import BaseOperatorLink
from airlane.sdk.operators.bash import BashOperator
from airlane.sdk.operators.empty import DummyOperator, EmptyOperator
from airlane.sdk.operators.python import (
    BaseBranchOperator,
    BranchMixIn,
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
    SkipMixin,
)
from airlane.sdk.operators.trigger_dagrun import TriggerDagRunOperator
from airlane.sdk.params import Param
from airlane.sdk.parsing_context import get_parsing_context
from airlane.sdk.priority_strategy import WeightRule
from airlane.sdk.resumable_job import ResumableJobMixin
from airlane.sdk.retry_policy import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
)
from airlane.sdk.sensors.base import BaseSensorOperator, PokeReturnValue
from airlane.sdk.sensors.filesystem import FileSensor
from airlane.sdk.sensors.time_delta import DateTimeSensor, TimeDeltaSensor
from airlane.sdk.setup_teardown import setup, teardown
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.sdk.state_store import NEVER_EXPIRE
from airlane.sdk.taskgroup import TaskGroup
from airlane.sdk.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    EventsTimetable,
    MultipleCronTriggerTimetable,
)
from airlane.sdk.trigger_rule import TriggerRule
from airlane.sdk.variable import Variable
from airlane.sdk.xcom import BaseXCom
from airlane.sdk.xcom_arg import XComArg

__all__ = [
    "DAG",
    "NEVER_EXPIRE",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "Asset",
    "AssetAccessControl",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetOrTimeSchedule",
    "AssetWatcher",
    "AsyncCallback",
    "BaseAsyncOperator",
    "BaseBranchOperator",
    "BaseDeadlineReference",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseXCom",
    "BashOperator",
    "BranchMixIn",
    "BranchPythonOperator",
    "Connection",
    "Context",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DagRunState",
    "DateTimeSensor",
    "DeadlineAlert",
    "DeadlineReference",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "DummyOperator",
    "EdgeModifier",
    "EmptyOperator",
    "EventsTimetable",
    "ExceptionRetryPolicy",
    "FileSensor",
    "Label",
    "MappedOperator",
    "Metadata",
    "MultipleCronTriggerTimetable",
    "Param",
    "PokeReturnValue",
    "PythonOperator",
    "ResumableJobMixin",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
    "RetryRule",
    "ShortCircuitOperator",
    "SkipMixin",
    "SyncCallback",
    "TaskGroup",
    "TaskInstance",
    "TaskInstanceState",
    "TimeDeltaSensor",
    "TriggerDagRunOperator",
    "TriggerRule",
    "Variable",
    "WeightRule",
    "XComArg",
    "asset",
    "chain",
    "chain_linear",
    "conf",
    "cross_downstream",
    "dag",
    "deadline_reference",
    "get_current_context",
    "get_parsing_context",
    "lineage",
    "literal",
    "macros",
    "result",
    "setup",
    "task",
    "task_group",
    "teardown",
]

#: names imported on first use, as ``module:attribute`` or a module (``ObjectStoragePath``
#: loads fsspec and universal_pathlib, some 80 ms; ``lineage`` and ``macros`` some 30: only the
#: DAG files that use them pay for them); ``airflow.sdk`` serves them the same way
LAZY_NAMES = {
    "ObjectStoragePath": "airlane.sdk.io.path:ObjectStoragePath",
    "lineage": "airlane.sdk.lineage",
    "macros": "airlane.sdk.macros",
}


def lazy_import(target: str) -> Any:
    """What a ``LAZY_NAMES`` entry names."""
    import importlib

    module, _, attribute = target.partition(":")
    found = importlib.import_module(module)
    return getattr(found, attribute) if attribute else found


def __getattr__(name: str) -> Any:
    if name not in LAZY_NAMES:
        raise AttributeError(f"module 'airlane.sdk' has no attribute {name!r}")
    return lazy_import(LAZY_NAMES[name])
