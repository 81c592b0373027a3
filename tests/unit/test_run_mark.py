"""Marking a whole run success or failed (engine/run_state.run_mark), as Airflow 3.3's
_set_dag_run_terminal_state: the coordinator decides from its own view of the instances."""

from __future__ import annotations

from airlane.engine.run_state import TIKey, TIRecord, run_mark
from airlane.sdk.state import TaskInstanceState as S


def test_running_take_the_state_unfinished_are_skipped_finished_keep_theirs() -> None:
    tis = {
        TIKey("done", -1): TIRecord(S.SUCCESS),
        TIKey("broke", -1): TIRecord(S.FAILED),
        TIKey("busy", -1): TIRecord(S.RUNNING),
        TIKey("waits", -1): TIRecord(S.DEFERRED),
        TIKey("pokes", -1): TIRecord(S.UP_FOR_RESCHEDULE),
        TIKey("later", -1): TIRecord(S.NONE),
        TIKey("queued", 0): TIRecord(S.QUEUED),
        TIKey("retry", -1): TIRecord(S.UP_FOR_RETRY),
    }
    assert dict(run_mark(tis, (), S.FAILED)) == {
        TIKey("busy", -1): S.FAILED,
        TIKey("waits", -1): S.FAILED,
        TIKey("pokes", -1): S.FAILED,
        TIKey("later", -1): S.SKIPPED,
        TIKey("queued", 0): S.SKIPPED,
        TIKey("retry", -1): S.SKIPPED,
    }
    assert dict(run_mark(tis, (), S.SUCCESS))[TIKey("busy", -1)] is S.SUCCESS


def test_a_teardown_not_finished_is_left_to_run() -> None:
    tis = {TIKey("cleanup", -1): TIRecord(S.NONE), TIKey("work", -1): TIRecord(S.RUNNING)}
    assert run_mark(tis, {"cleanup"}, S.FAILED) == [(TIKey("work", -1), S.FAILED)]
