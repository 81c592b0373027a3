"""Recovery on plain data: which tries count as lost, and which messages go back."""

from __future__ import annotations

from airlane.engine.run_state import TIKey, TIRecord
from airlane.queue.messages import TaskMessage
from airlane.queue.protocol import ClaimRef, WorkerBeat
from airlane.sdk.state import TaskInstanceState as S
from airlane.service.coordinator.recovery import (
    MISSED_BEATS,
    is_lost,
    reported_tries,
    should_requeue,
    take_heartbeats,
)
from airlane.service.coordinator.state import RecoveryState, RunningTry

RUN = "d|r"
ITEM = (RUN, TIKey("t"))
ON_W1 = RunningTry("w1", 1)


def _claim(task_id: str = "t", try_number: int = 1) -> str:
    return ClaimRef("q", "1-0", "d", "r", task_id, -1, try_number).encode()


def test_fresh_heartbeats_are_those_newer_than_the_last_seen() -> None:
    state = RecoveryState(last_beat_s={"w1": 10.0, "gone": 5.0})
    workers = {"w1": WorkerBeat(10.0, ()), "w2": WorkerBeat(3.0, ())}
    assert take_heartbeats(state, workers) == {"w2"}
    assert state.last_beat_s == {"w1": 10.0, "w2": 3.0}  # a worker no longer listed is dropped
    assert take_heartbeats(state, {"w1": WorkerBeat(11.0, ())}) == {"w1"}


def test_reported_tries_come_from_fresh_heartbeats_only() -> None:
    workers = {
        "w1": WorkerBeat(10.0, (_claim("t", 1), "not a claim")),
        "w2": WorkerBeat(10.0, (_claim("u", 2),)),
    }
    assert reported_tries(workers, {"w1"}) == {(RUN, "t|-1", 1)}


def test_a_try_is_lost_after_two_fresh_beats_in_a_row_leave_it_out() -> None:
    state = RecoveryState(last_beat_s={"w1": 20.0})
    verdicts = [is_lost(state, ITEM, ON_W1, {"w1"}, set(), 5.0) for _ in range(MISSED_BEATS)]
    assert verdicts == [False] * (MISSED_BEATS - 1) + [True]
    assert ITEM not in state.unreported


def test_a_report_resets_the_count() -> None:
    state = RecoveryState(last_beat_s={"w1": 20.0})
    assert not is_lost(state, ITEM, ON_W1, {"w1"}, set(), None)
    assert not is_lost(state, ITEM, ON_W1, {"w1"}, {(RUN, "t|-1", 1)}, None)
    assert ITEM not in state.unreported
    assert not is_lost(state, ITEM, ON_W1, {"w1"}, set(), None)


def test_a_report_of_another_try_does_not_count() -> None:
    state = RecoveryState(last_beat_s={"w1": 20.0})
    other_try = {(RUN, "t|-1", 2)}
    assert not is_lost(state, ITEM, ON_W1, {"w1"}, other_try, None)
    assert is_lost(state, ITEM, ON_W1, {"w1"}, other_try, None)


def test_stale_or_early_heartbeats_do_not_count() -> None:
    state = RecoveryState(last_beat_s={"w1": 20.0})
    for _ in range(3):
        assert not is_lost(state, ITEM, ON_W1, set(), set(), None)  # no fresh beat
        assert not is_lost(state, ITEM, ON_W1, {"w1"}, set(), 20.0)  # sent before it started
    assert state.unreported[ITEM] == 0


def _message(try_number: int) -> TaskMessage:
    return TaskMessage(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=try_number,
        max_tries=1,
        fileloc="/dags/d.py",
        logical_date="",
        data_interval_start="",
        data_interval_end="",
        run_type="manual",
        run_queued_at="",
        queued_at=0.0,
    )


def test_only_the_current_queued_try_is_requeued() -> None:
    assert should_requeue(TIRecord(S.QUEUED, 2), _message(2))
    assert not should_requeue(TIRecord(S.QUEUED, 3), _message(2))  # a newer try was sent
    assert not should_requeue(TIRecord(S.RUNNING, 2), _message(2))  # claimed meanwhile
    assert not should_requeue(None, _message(2))
