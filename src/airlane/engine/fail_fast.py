"""Fail-fast DAGs (Airflow 3's ``fail_fast``, Airflow 2's ``fail_stop``): when a try fails for
good (no retry left), the run's other instances stop, as Airflow's ``_stop_remaining_tasks``
does: the running ones fail (their workers are told to stop), every other one not yet
successful or failed is skipped, except the teardowns, which are left to their trigger rule
(they still clean up after the setups); the run's state then follows from its leaves as always (in
Airflow too: failed when a leaf failed). A failure marked by hand does not
stop the others (in Airflow neither). The loader refuses a fail-fast DAG with a task whose
trigger rule is not all_success (``FailFastDagInvalidTriggerRule``), as Airflow does."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from airlane.engine.run_state import TIKey, TIRecord
from airlane.sdk.state import TaskInstanceState

S = TaskInstanceState
_LEFT_ALONE = (S.SUCCESS, S.FAILED)


def stop_marks(
    tis: Mapping[TIKey, TIRecord], failed: TIKey, teardowns: AbstractSet[str] = frozenset()
) -> tuple[list[tuple[TIKey, TaskInstanceState]], tuple[TIKey, ...]]:
    """The others' new states after ``failed`` failed, and the running ones to stop; the
    teardowns are left alone (they run as their trigger rule says), as in Airflow."""
    marks: list[tuple[TIKey, TaskInstanceState]] = []
    running: list[TIKey] = []
    for key, record in tis.items():
        if key == failed or record.state in _LEFT_ALONE or key.task_id in teardowns:
            continue
        if record.state is S.RUNNING:
            marks.append((key, S.FAILED))
            running.append(key)
        elif record.state is S.DEFERRED:  # skipped, and its trigger stopped
            marks.append((key, S.SKIPPED))
            running.append(key)
        else:
            marks.append((key, S.SKIPPED))
    return marks, tuple(running)
