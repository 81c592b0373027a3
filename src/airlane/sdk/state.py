"""Task instance and DAG run states, with Airflow's values."""

from __future__ import annotations

from enum import StrEnum


class TaskInstanceState(StrEnum):
    """The state of one task instance. ``NONE`` is Airflow's null state (not yet scheduled)."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    REMOVED = "removed"
    RESTARTING = "restarting"


class DagRunState(StrEnum):
    """The state of one DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


TI = TaskInstanceState

#: States in which a task instance will not change again unless cleared.
FINISHED_STATES: frozenset[TaskInstanceState] = frozenset(
    {TI.SUCCESS, TI.FAILED, TI.SKIPPED, TI.UPSTREAM_FAILED, TI.REMOVED}
)
#: States of a task instance that a worker holds or is about to hold.
IN_FLIGHT_STATES: frozenset[TaskInstanceState] = frozenset(
    {TI.SCHEDULED, TI.QUEUED, TI.RUNNING, TI.DEFERRED, TI.RESTARTING}
)
#: States waiting for a time before being scheduled again.
WAITING_STATES: frozenset[TaskInstanceState] = frozenset({TI.UP_FOR_RETRY, TI.UP_FOR_RESCHEDULE})
FAILED_STATES: frozenset[TaskInstanceState] = frozenset({TI.FAILED, TI.UPSTREAM_FAILED})
SUCCESS_STATES: frozenset[TaskInstanceState] = frozenset({TI.SUCCESS, TI.SKIPPED})


class State:
    """Airflow's ``airflow.utils.state.State`` constants."""

    NONE = None
    SCHEDULED = TI.SCHEDULED
    QUEUED = TI.QUEUED
    RUNNING = TI.RUNNING
    SUCCESS = TI.SUCCESS
    FAILED = TI.FAILED
    UP_FOR_RETRY = TI.UP_FOR_RETRY
    UP_FOR_RESCHEDULE = TI.UP_FOR_RESCHEDULE
    UPSTREAM_FAILED = TI.UPSTREAM_FAILED
    SKIPPED = TI.SKIPPED
    DEFERRED = TI.DEFERRED
    REMOVED = TI.REMOVED
    finished = FINISHED_STATES
    failed_states = FAILED_STATES
    success_states = SUCCESS_STATES
