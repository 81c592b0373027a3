"""DAG runs through a coordinator and two worker processes on a real Redis."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airlane.sdk.timezone import utcnow
from tests.conftest import behaviour_cases, normalise_states, run_cli
from tests.integration.cluster import (
    SECRET,
    USERS,
    Api,
    Cluster,
    RedisServer,
    process_alive,
    wait_until,
)
from tests.integration.conftest import build_dags_folder

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def shared(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One running Airlane for the tests that only trigger runs."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("shared")
    nodes = Cluster(redis_server.url, build_dags_folder(work / "dags"), work)
    nodes.start_all(workers=2)
    nodes.wait_for_dags(
        "simple_airflow_dag", "chain_200", "fan_out_1000", "trigger_rules", "retry_delay"
    )
    yield nodes
    nodes.stop_all()


@pytest.mark.parametrize(
    ("dag_id", "count"), [("simple_airflow_dag", 2), ("chain_200", 200), ("fan_out_1000", 1001)]
)
def test_runs_to_success(shared: Cluster, dag_id: str, count: int) -> None:
    run_id = shared.trigger(dag_id)
    summary = shared.wait_run(dag_id, run_id, timeout_s=120)
    assert summary["state"] == "success"
    assert len(summary["tasks"]) == count
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())


def test_seed_dag_logs(shared: Cluster) -> None:
    run_id = shared.trigger("simple_airflow_dag")
    shared.wait_run("simple_airflow_dag", run_id)
    assert any(
        line.endswith("Hello Airflow")
        for line in shared.log_lines("simple_airflow_dag", run_id, "print_hello", 1)
    )
    assert any(
        line.endswith("World!")
        for line in shared.log_lines("simple_airflow_dag", run_id, "print_world", 1)
    )


@pytest.mark.parametrize(("path", "expected"), behaviour_cases())
def test_behaviour_dags_reach_the_same_end_states(
    shared: Cluster, path: Path, expected: dict[str, Any]
) -> None:
    shared.wait_for_dags(expected["dag_id"])
    run_id = shared.trigger(
        expected["dag_id"], conf=expected.get("conf"), logical_date=expected.get("logical_date")
    )
    summary = shared.wait_run(expected["dag_id"], run_id, timeout_s=90)
    states, tries = normalise_states(expected["tasks"])
    assert {label: info["state"] for label, info in summary["tasks"].items()} == states
    for label, try_number in tries.items():
        assert summary["tasks"][label]["try_number"] == try_number, label
    assert summary["state"] == expected["state"]
    if expected.get("logs"):
        text = "\n".join(
            line
            for label, info in summary["tasks"].items()
            if "[" not in label
            for line in shared.log_lines(
                expected["dag_id"], run_id, label, max(info["try_number"], 1)
            )
        )
        for line in expected["logs"]:
            assert line in text


def _event_times(cluster: Cluster, run_ref: str) -> list[tuple[float, dict[str, str]]]:
    client = cluster.redis()
    entries = client.xrange(cluster.keys.events)
    client.close()
    return [
        (int(entry_id.split("-")[0]) / 1000, fields)
        for entry_id, fields in entries
        if fields.get("run") == run_ref
    ]


def test_retries_wait_their_delay(shared: Cluster) -> None:
    run_id = shared.trigger("retry_delay")
    summary = shared.wait_run("retry_delay", run_id)
    assert summary["tasks"]["flaky"] == {"state": "success", "try_number": 2}
    events = _event_times(shared, f"retry_delay|{run_id}")
    failed_at = next(t for t, e in events if e.get("state") == "up_for_retry")
    requeued_at = next(
        t for t, e in events if e.get("state") == "queued" and e.get("try_number") == "2"
    )
    assert requeued_at - failed_at >= 1.45


def test_execution_timeout_kills_the_process_group(shared: Cluster) -> None:
    run_id = shared.trigger("timeout_group")
    summary = shared.wait_run("timeout_group", run_id)
    assert summary["tasks"]["too_slow"]["state"] == "failed"
    pid = int((shared.markers / f"{run_id}.pid").read_text())
    deadline = time.monotonic() + 5
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(pid), "the background sleep outlived its task"


def test_failed_run_logs_are_readable_with_the_cli(shared: Cluster) -> None:
    run_id = shared.trigger("retries_behaviour")
    assert shared.wait_run("retries_behaviour", run_id)["state"] == "failed"
    env = {"AIRLANE_REDIS_URL": shared.redis_url}
    last = run_cli("tasks", "logs", "retries_behaviour", run_id, "exhausted", env=env)
    assert last.code == 0
    assert "RuntimeError: broken for good" in last.stdout
    assert "try 2 of exhausted" in last.stdout
    assert "task_runner.py" not in last.stdout  # the user's frames only
    never_ran = run_cli("tasks", "logs", "retries_behaviour", run_id, "after_exhausted", env=env)
    assert never_ran.code == 0
    assert "(no try to show: after_exhausted has not run; state upstream_failed, try 0)" in (
        never_ran.stderr
    )
    no_run = run_cli("tasks", "logs", "retries_behaviour", "no_such_run", "exhausted", env=env)
    assert no_run.code == 2
    assert "no run no_such_run of DAG retries_behaviour" in no_run.stderr
    first = run_cli(
        "tasks", "logs", "retries_behaviour", run_id, "exhausted", "--try", "1", env=env
    )
    assert "try 1 of exhausted" in first.stdout
    shown = run_cli("runs", "show", "retries_behaviour", run_id, "--json", env=env).json()
    assert shown["state"] == "failed"
    assert shown["tasks"]["exhausted"] == {"state": "failed", "try_number": 2}


def test_cli_trigger_wait_json_and_errors(shared: Cluster) -> None:
    env = {"AIRLANE_REDIS_URL": shared.redis_url}
    ok = run_cli(
        "dags", "trigger", "simple_airflow_dag", "--wait", "--json", "--run-id", "cli_run", env=env
    )
    assert ok.code == 0, ok.stderr
    assert ok.json()["tasks"]["print_world"] == {"state": "success", "try_number": 1}
    again = run_cli("dags", "trigger", "simple_airflow_dag", "--run-id", "cli_run", env=env)
    assert again.code == 2
    assert "exists already" in again.stderr
    missing = run_cli("dags", "trigger", "no_such_dag", env=env)
    assert missing.code == 2
    assert "not found" in missing.stderr
    failed = run_cli("dags", "trigger", "template_error", "--wait", "--json", env=env)
    assert failed.code == 1
    assert re.search(r'"state": "failed"', failed.stdout)


def test_paused_dag_holds_its_runs_until_unpaused(shared: Cluster) -> None:
    env = {"AIRLANE_REDIS_URL": shared.redis_url}
    assert run_cli("dags", "pause", "simple_airflow_dag", env=env).code == 0
    run_id = shared.trigger("simple_airflow_dag")
    shared.wait_for_beats()  # the coordinator has seen the run, and held it
    assert shared.run_state("simple_airflow_dag", run_id) == "queued"
    assert run_cli("dags", "unpause", "simple_airflow_dag", env=env).code == 0
    assert shared.wait_run("simple_airflow_dag", run_id)["state"] == "success"


def test_pool_slots_limit_concurrency_across_tasks(shared: Cluster) -> None:
    env = {"AIRLANE_REDIS_URL": shared.redis_url}
    assert run_cli("pools", "set", "single", "1", env=env).code == 0
    run_id = shared.trigger("pooled")
    assert shared.wait_run("pooled", run_id)["state"] == "success"
    events = (shared.markers / f"{run_id}.pool").read_text().split()
    kinds = events[0::2]
    assert kinds == ["start", "end"] * 3  # never two at once
    assert "single  1" in run_cli("pools", "list", env=env).stdout


def test_task_limits_hold_one_task_without_blocking_the_others(shared: Cluster) -> None:
    """max_active_tis_per_dag across two runs, max_active_tis_per_dagrun within each; the
    unlimited task's instances go meanwhile."""
    runs = [shared.trigger("task_limits") for _ in range(2)]
    for run_id in runs:
        summary = shared.wait_run("task_limits", run_id)
        assert summary["state"] == "success", summary
    per_dag = (shared.markers / "task_limits.per_dag").read_text().split()[0::2]
    assert per_dag == ["start", "end"] * 4  # two runs x two instances, never two at once
    for run_id in runs:
        per_run = (shared.markers / f"{run_id}.per_run").read_text().split()[0::2]
        assert per_run == ["start", "end"] * 3


def test_dagrun_timeout_fails_the_run(shared: Cluster) -> None:
    run_id = shared.trigger("run_timeout")
    started = time.monotonic()
    summary = shared.wait_run("run_timeout", run_id, timeout_s=30)
    assert summary["state"] == "failed"
    assert time.monotonic() - started < 10
    assert summary["tasks"]["never"]["state"] == "skipped"


def test_clearing_work_clears_its_setup_and_teardown(shared: Cluster) -> None:
    """``tasks clear`` of one work task (no upstream/downstream flag) takes its setup and its
    teardown along, as Airflow's partial_subset does; they run again, setup first."""
    dag_id = "setup_teardown_behaviour"
    shared.wait_for_dags(dag_id)
    run_id = shared.trigger(dag_id)
    assert shared.wait_run(dag_id, run_id, timeout_s=90)["state"] == "failed"
    env = {"AIRLANE_REDIS_URL": shared.redis_url}
    args = ("tasks", "clear", dag_id, "--run-id", run_id, "--task-regex", "^uses_conn$")
    cleared = run_cli(*args, env=env)
    assert cleared.code == 0, cleared.stderr
    assert f"{run_id}: close_conn open_conn uses_conn" in cleared.stdout

    def tries() -> dict[str, tuple[str, int]]:
        return {
            task_id: (record.state.value, record.try_number)
            for (task_id, _), (record, _) in shared.task_instances(dag_id, run_id).items()
            if task_id in ("open_conn", "uses_conn", "close_conn", "create_resource")
        }

    wait_until(lambda: tries()["close_conn"] == ("success", 2), 60, "the cleared teardown")
    assert tries() == {
        "open_conn": ("success", 2),
        "uses_conn": ("success", 2),
        "close_conn": ("success", 2),
        "create_resource": ("success", 1),
    }
    wait_until(lambda: shared.run_state(dag_id, run_id) == "failed", 30, "the run's end")


def test_the_api_clear_adds_setups_and_teardowns_with_relatives(shared: Cluster) -> None:
    """clearTaskInstances as Airflow 3.1.8's: with include_upstream/downstream the tasks come
    from partial_subset (setups and teardowns included), without them only those asked."""
    dag_id = "setup_teardown_behaviour"
    shared.wait_for_dags(dag_id)
    run_id = shared.trigger(dag_id)
    assert shared.wait_run(dag_id, run_id, timeout_s=90)["state"] == "failed"
    api, token = _api_of(shared)
    path = f"/api/v2/dags/{dag_id}/clearTaskInstances"
    body = {"dag_run_id": run_id, "task_ids": ["uses_conn"], "only_failed": False}

    def cleared(**extra: Any) -> list[str]:
        status, found = api.call("POST", path, {**body, **extra}, token=token)
        assert status == 200, found
        return sorted(ti["task_id"] for ti in found["task_instances"])

    assert cleared() == ["uses_conn"]
    assert cleared(include_downstream=True) == ["close_conn", "open_conn", "uses_conn"]
    assert cleared(include_upstream=True) == ["close_conn", "open_conn", "uses_conn"]


def _api_of(cluster: Cluster) -> tuple[Api, str]:
    """An API process of ``cluster`` with users, and a token."""
    saved = cluster.env
    cluster.env = {**saved, "AIRLANE_API_USERS": USERS, "AIRLANE_API_SECRET": SECRET}
    try:
        api = Api.start(cluster)
    finally:
        cluster.env = saved
    return api, api.token()


def test_a_run_marked_failed_leaves_its_teardown_to_run(shared: Cluster) -> None:
    dag_id = "teardown_after_mark"
    shared.wait_for_dags(dag_id)
    run_id = shared.trigger(dag_id)

    def state_of(task_id: str) -> str | None:
        # None until the coordinator has expanded the run
        found = shared.task_instances(dag_id, run_id).get((task_id, -1))
        return None if found is None else str(found[0].state.value)

    wait_until(lambda: state_of("work") == "running", 30, "the work to run")
    api, token = _api_of(shared)
    status, _ = api.call(
        "PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", {"state": "failed"}, token=token
    )
    assert status == 200
    summary = shared.wait_run(dag_id, run_id, timeout_s=30)
    assert {label: info["state"] for label, info in summary["tasks"].items()} == {
        "make": "success",
        "work": "failed",
        "drop": "success",
    }
    assert summary["state"] == "failed"


def test_reset_dag_run_waits_for_the_runs_second_end(shared: Cluster) -> None:
    """reset_dag_run with wait_for_completion on a run that ended: the task ends once the run
    ended again (its count task ran twice), not on the first end's state."""
    shared.wait_for_dags("trigger_reset_wait", "trigger_reset_wait_target")
    run_id = shared.trigger("trigger_reset_wait")
    assert shared.wait_run("trigger_reset_wait", run_id, timeout_s=60)["state"] == "success"
    target = f"{run_id}__target"
    summary = shared.wait_run("trigger_reset_wait_target", target, timeout_s=10)
    assert summary["tasks"]["count"] == {"state": "success", "try_number": 2}
    again = shared.task_instances("trigger_reset_wait", run_id)[("again", -1)][1]
    count = shared.task_instances("trigger_reset_wait_target", target)[("count", -1)][1]
    assert float(again.end_date) >= float(count.end_date)  # it waited for the second end


def test_a_run_triggered_for_later_stays_queued_until_its_run_after(shared: Cluster) -> None:
    """Airflow 3 starts no run before its ``run_after``: one due in ten minutes stays queued
    and does not hold back the DAG's other runs; one due in a second starts no sooner."""
    shared.wait_for_dags("trigger_options_open")
    dag_id = "trigger_options_open"
    far = shared.trigger(dag_id, run_after=utcnow() + timedelta(minutes=10))
    soon_after = utcnow() + timedelta(seconds=1)
    soon = shared.trigger(dag_id, run_after=soon_after)
    now = shared.trigger(dag_id)
    assert shared.wait_run(dag_id, now, timeout_s=60)["state"] == "success"
    assert shared.wait_run(dag_id, soon, timeout_s=60)["state"] == "success"
    client = shared.redis()
    started_s = float(client.hget(shared.keys.run(dag_id, soon), "start_date") or 0)
    client.close()
    assert started_s >= soon_after.timestamp()
    assert shared.run_state(dag_id, far) == "queued"


def test_a_triggered_run_keeps_the_operators_note(shared: Cluster) -> None:
    """TriggerDagRunOperator's ``note`` is the triggered run's, whose type is
    ``operator_triggered`` (the behaviour DAG trigger_options.py: its ``later`` run waits for
    2999, queued)."""
    shared.wait_for_dags("trigger_options_behaviour")
    run_id = shared.trigger("trigger_options_behaviour")
    assert shared.wait_run("trigger_options_behaviour", run_id, timeout_s=60)["state"] == "failed"
    client = shared.redis()
    noted = client.hgetall(shared.keys.run("trigger_options_open", f"{run_id}__noted"))
    later = client.hgetall(shared.keys.run("trigger_options_open", f"{run_id}__later"))
    client.close()
    assert noted["note"] == "triggered by open_noted"
    assert noted["run_type"] == "operator_triggered"  # (Airflow 3.2+)
    assert later["state"] == "queued"
    assert later["run_after"] == "2999-01-01T00:00:00+00:00"
