"""The deferral entries nobody else removes: a deferral that lands after its instance moved on,
a trigger event for a try no longer deferred, and the resume of a try that will not run.

A try still running when the coordinator moves its instance on (a clear, a mark, a fail-fast
stop) may have deferred already: its deferral is forgotten in the same write as the move
(:func:`after_move`), so that no triggerer claims its trigger once the instance moved on in
Redis (the finish script stores no deferral of a try that is no longer its instance's current
one; one stored before the move goes with it).

A deferred try's ``deferred`` entry is removed by its trigger's event (or by a clear or mark of
the deferred instance, in progress.py); a resumed try's ``resumes`` entry by its worker's
finish. Whatever ends a try another way leaves them here.
"""

from __future__ import annotations

from airlane.engine.run_state import TIRecord, Transition
from airlane.queue.keys import Keys, deferred_field, parse_run_ref, resume_field
from airlane.queue.protocol import TryFinished, TryResumed
from airlane.queue.scripts import Batch
from airlane.sdk.state import TaskInstanceState

S = TaskInstanceState
_RUNNABLE = frozenset({S.SCHEDULED, S.QUEUED, S.RUNNING})
#: the states of an instance whose try a worker may be running
_UNDER_WAY = frozenset({S.QUEUED, S.RUNNING})


def resumes(record: TIRecord | None, try_number: int) -> bool:
    """Whether the instance is running (or about to run) try ``try_number`` as resumed."""
    return (
        record is not None
        and record.resumed
        and record.try_number == try_number
        and record.state in _RUNNABLE
    )


def waits(record: TIRecord | None, try_number: int) -> bool:
    """Whether the instance is deferred on try ``try_number``'s trigger."""
    return record is not None and record.state is S.DEFERRED and record.try_number == try_number


def after_finished(batch: Batch, keys: Keys, event: TryFinished, record: TIRecord | None) -> None:
    """A deferral the coordinator did not take (its instance cleared, marked or stopped, its
    run gone): its ``deferred`` entry and timeout go, if they are still that try's."""
    n = event.try_number
    if event.outcome.state is not S.DEFERRED or waits(record, n) or resumes(record, n):
        return
    field = deferred_field(*parse_run_ref(event.run), event.task_id, event.map_index)
    batch.forget_deferral(keys.deferred, keys.trigger_timeouts, field, n)


def after_resumed(batch: Batch, keys: Keys, event: TryResumed, record: TIRecord | None) -> None:
    """A trigger event for a try no longer deferred: its resume will never be claimed."""
    if not resumes(record, event.try_number):
        dag_id, run_id = parse_run_ref(event.run)
        field = resume_field(dag_id, run_id, event.task_id, event.map_index, event.try_number)
        batch.hdel(keys.resumes, field)


def after_transition(
    batch: Batch, keys: Keys, dag_id: str, run_id: str, transition: Transition
) -> None:
    """A resumed try that will not run (cleared, marked, stopped or failed before its worker
    finished it): its resume entry goes. One that deferred again keeps it: its finish removed
    the old one, and a new one may stand there already."""
    n = transition.resuming_try
    record = transition.record
    if n is None or resumes(record, n) or waits(record, n):
        return
    key = transition.key
    batch.hdel(keys.resumes, resume_field(dag_id, run_id, key.task_id, key.map_index, n))


def after_move(batch: Batch, keys: Keys, dag_id: str, run_id: str, transition: Transition) -> None:
    """An instance moved on (cleared, marked) from a try a worker may be running: that try's
    deferral, if it landed already, goes with the move (guarded by its try number)."""
    record = transition.record
    if transition.old not in _UNDER_WAY or record is None:
        return
    if record.state in _UNDER_WAY or record.state is S.DEFERRED:
        return
    key = transition.key
    forget_try(batch, keys, dag_id, run_id, key.task_id, key.map_index, record.try_number)


def forget_try(
    batch: Batch, keys: Keys, dag_id: str, run_id: str, task_id: str, map_index: int, n: int
) -> None:
    """Forget try ``n``'s deferral of the instance, if the entry is still that try's."""
    field = deferred_field(dag_id, run_id, task_id, map_index)
    batch.forget_deferral(keys.deferred, keys.trigger_timeouts, field, n)
