"""The options of ``clearTaskInstances`` that choose runs or refuse a clear (api/clear_options.py),
as Airflow's ClearTaskInstancesBody and clear_task_instances treat them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from airlane.api import clear_options
from airlane.api.clear_across import RunClear
from airlane.api.errors import ApiError
from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta
from airlane.sdk.state import TaskInstanceState as S

JAN_2 = datetime(2026, 1, 2, tzinfo=UTC)
JAN_3 = datetime(2026, 1, 3, tzinfo=UTC)


def _run(day: int | None, state: str = "success", dag_hash: str = "v1") -> dict[str, str]:
    when = "" if day is None else f"2026-01-0{day}T00:00:00+00:00"
    return {"run_id": f"r{day}", "logical_date": when, "state": state, "dag_hash": dag_hash}


def _clear(run: dict[str, str], *states: S, latest: str = "v2") -> RunClear:
    chosen = {(f"t{i}", -1): (TIRecord(state), TIMeta()) for i, state in enumerate(states)}
    return RunClear({"hash": latest}, run, chosen)


def _detail(err: ApiError) -> Any:
    return err.detail


@pytest.mark.parametrize(
    ("body", "start", "end", "field"),
    [
        ({"only_failed": True, "only_running": True}, None, None, "only_running"),
        ({}, JAN_3, JAN_2, "end_date"),
        ({"dag_run_id": "r1"}, JAN_2, None, "start_date"),
        ({"dag_run_id": "r1"}, None, JAN_2, "end_date"),
        ({"task_ids": []}, None, None, "task_ids"),
    ],
)
def test_the_bodys_own_rules_are_422s_naming_the_field(
    body: dict[str, Any], start: datetime | None, end: datetime | None, field: str
) -> None:
    with pytest.raises(ApiError) as raised:
        clear_options.check_body(body, start, end)
    assert raised.value.status == 422
    assert _detail(raised.value)[0]["loc"] == ["body", field]


def test_a_window_takes_runs_by_logical_date_and_no_asset_run_once_bounded() -> None:
    assert [d for d in (1, 2, 3) if clear_options.in_window(_run(d), JAN_2, JAN_3)] == [2, 3]
    assert [d for d in (1, 2, 3) if clear_options.in_window(_run(d), None, JAN_2)] == [1, 2]
    assert clear_options.in_window(_run(None), None, None)
    assert not clear_options.in_window(_run(None), JAN_2, None)


def test_include_past_and_future_open_the_window_around_the_run() -> None:
    assert clear_options.window_of(_run(2), past=True, future=False) == (None, JAN_2)
    assert clear_options.window_of(_run(2), past=False, future=True) == (JAN_2, None)
    with pytest.raises(ApiError) as raised:
        clear_options.window_of(_run(None), past=True, future=False)
    assert raised.value.status == 400


def test_prevent_running_task_refuses_a_running_instance_with_airflows_409() -> None:
    clear_options.refuse_running([_clear(_run(1), S.SUCCESS, S.FAILED)])
    with pytest.raises(ApiError) as raised:
        clear_options.refuse_running([_clear(_run(1), S.SUCCESS, S.RUNNING)])
    assert raised.value.status == 409
    assert "Disable 'prevent_running_task' to proceed" in str(_detail(raised.value))


def test_reset_dag_runs_false_is_refused_for_a_finished_run_only() -> None:
    clear_options.refuse_unreset([_clear(_run(1, state="running"), S.FAILED)])
    clear_options.refuse_unreset([_clear(_run(1))])  # nothing chosen in it
    with pytest.raises(ApiError) as raised:
        clear_options.refuse_unreset([_clear(_run(1, state="failed"), S.FAILED)])
    assert _detail(raised.value)[0]["loc"] == ["body", "reset_dag_runs"]


def test_run_on_latest_version_is_refused_for_a_run_on_an_older_version_only() -> None:
    same = [_clear(_run(1, dag_hash="v2"), S.FAILED)]
    clear_options.refuse_other_version(same, "run_on_latest_version")
    # a run of another DAG (an ExternalTaskMarker's) against its own DAG's latest version
    other_dag = [_clear(_run(1, dag_hash="w7"), S.FAILED, latest="w7")]
    clear_options.refuse_other_version(other_dag, "run_on_latest_version")
    with pytest.raises(ApiError) as raised:
        clear_options.refuse_other_version(
            [_clear(_run(1, dag_hash="v1"), S.FAILED)], "run_on_latest_version"
        )
    assert _detail(raised.value)[0]["loc"] == ["body", "run_on_latest_version"]
