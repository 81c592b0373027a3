"""A worker keeps each run's wire (what a try's request sends of its run) once per run."""

from __future__ import annotations

from dataclasses import replace

import orjson

from airlane.engine.run_state import TaskOutcome
from airlane.queue.messages import TaskMessage
from airlane.sdk.state import TaskInstanceState
from airlane.service.worker import tries
from airlane.service.worker.tries import FinishedTry, RunningTry, RunWires, finish_call


def _message(run_id: str = "r1", run_type: str = "manual") -> TaskMessage:
    return TaskMessage(
        dag_id="d",
        run_id=run_id,
        task_id="t",
        map_index=-1,
        try_number=1,
        max_tries=0,
        fileloc="/dags/d.py",
        logical_date="2026-01-01T00:00:00+00:00",
        data_interval_start="2026-01-01T00:00:00+00:00",
        data_interval_end="2026-01-01T00:00:00+00:00",
        run_type=run_type,
        run_queued_at="2026-01-01T00:00:01+00:00",
        queued_at=0.0,
    )


def test_a_run_is_kept_per_run_and_creation_not_when_asset_triggered() -> None:
    wires = RunWires()
    msg = _message()
    wire = {"dag_id": "d"}
    wires.keep(msg, wire)
    assert wires.get(replace(msg, task_id="other", try_number=2)) is wire
    assert wires.get(replace(msg, run_queued_at="later")) is None  # the run made again
    assert wires.get(_message("r2")) is None
    asset = _message("r3", run_type="asset_triggered")
    wires.keep(asset, wire)
    assert wires.get(asset) is None  # its events are read per try


def test_kept_runs_are_bounded_oldest_out_first() -> None:
    wires = RunWires()
    for i in range(tries.MAX_RUN_WIRES + 1):
        wires.keep(_message(f"r{i}"), {"i": i})
    assert wires.get(_message("r0")) is None
    assert wires.get(_message(f"r{tries.MAX_RUN_WIRES}")) == {"i": tries.MAX_RUN_WIRES}


def test_a_finish_carries_when_the_try_ended_and_no_deferral_in_its_outcome() -> None:
    msg = _message()
    item = RunningTry("q", "1-1", msg, "ref")
    outcome = TaskOutcome(TaskInstanceState.DEFERRED, 1, deferral='{"key": "k"}')
    done = FinishedTry(item, outcome, [], [], False, "", ended_at_s=12.5)
    (finish,) = finish_call("w", [done], 60).finishes
    sent = orjson.loads(finish.outcome_json)
    assert sent["ended_at_s"] == 12.5
    assert "deferral" not in sent
    assert finish.deferral_json == '{"key": "k"}'
