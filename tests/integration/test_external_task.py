"""ExternalTaskSensor and ExternalTaskMarker on real processes (issue 15): a worker's sensor
reads the other DAG's run at its logical date from Redis, succeeds once that run's task does,
fails at once on a failed state; clearing the marker's upstream with its downstream through the
API clears the marked sensor (and its downstream) in the other DAG's run at the same date."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import Api, Cluster, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("external_task")
    shutil.copytree(TEST_DAGS / "external_task", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=1, concurrency=4) as api:
        api.cluster.wait_for_dags("ext_parent", "ext_child")
        yield api


def _states(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, str]:
    tis = cluster.task_instances(dag_id, run_id)
    return {task_id: record.state.value for (task_id, _), (record, _) in tis.items()}


def _poked(cluster: Cluster, run_id: str) -> bool:
    lines = cluster.log_lines("ext_child", run_id, "wait_work", 1)
    return sum("Poking for tasks ['work'] in dag ext_parent" in line for line in lines) >= 2


def test_the_sensor_waits_for_the_other_dags_task_at_its_logical_date(api: Api) -> None:
    nodes = api.cluster
    when = "2025-03-01T00:00:00+00:00"
    child = nodes.trigger("ext_child", "child_ok", logical_date=when)
    wait_until(lambda: _poked(nodes, child), 30, "the sensor to poke twice with no parent run")
    # a parent run at another logical date is not the one it waits for
    other = nodes.trigger("ext_parent", "parent_other", logical_date="2025-03-02T00:00:00+00:00")
    nodes.wait_run("ext_parent", other)
    assert nodes.run_state("ext_child", child) == "running"
    parent = nodes.trigger("ext_parent", "parent_ok", logical_date=when)
    assert nodes.wait_run("ext_parent", parent)["state"] == "success"
    assert nodes.wait_run("ext_child", child)["state"] == "success"
    assert _states(nodes, "ext_child", child) == {
        "wait_work": "success",
        "wait_run": "success",
        "after": "success",
    }


def test_a_failed_state_fails_the_sensor_at_once(api: Api) -> None:
    nodes = api.cluster
    when = "2025-04-01T00:00:00+00:00"
    parent = nodes.trigger("ext_parent", "parent_bad", {"code": 1}, logical_date=when)
    assert nodes.wait_run("ext_parent", parent)["state"] == "failed"
    child = nodes.trigger("ext_child", "child_bad", logical_date=when)
    # well before the sensor's 120 s timeout
    assert nodes.wait_run("ext_child", child, timeout_s=30)["state"] == "failed"
    assert _states(nodes, "ext_child", child) == {
        "wait_work": "failed",
        "wait_run": "failed",
        "after": "upstream_failed",
    }
    lines = nodes.log_lines("ext_child", child, "wait_work", 1)
    assert any("ExternalTaskFailedError" in line for line in lines), lines
    lines = nodes.log_lines("ext_child", child, "wait_run", 1)
    assert any("ExternalDagFailedError" in line for line in lines), lines


def test_clearing_through_the_marker_clears_the_other_dags_sensor(api: Api) -> None:
    nodes = api.cluster
    when = "2025-05-01T00:00:00+00:00"
    parent = nodes.trigger("ext_parent", "parent_clear", logical_date=when)
    child = nodes.trigger("ext_child", "child_clear", logical_date=when)
    nodes.wait_run("ext_parent", parent)
    assert nodes.wait_run("ext_child", child)["state"] == "success"
    body = {
        "dry_run": True,
        "only_failed": False,
        "task_ids": ["work"],
        "include_downstream": True,
        "dag_run_id": parent,
    }
    token = api.token()
    status, listed = api.call("POST", "/api/v2/dags/ext_parent/clearTaskInstances", body, token)
    assert status == 200, listed
    found = {(ti["dag_id"], ti["dag_run_id"], ti["task_id"]) for ti in listed["task_instances"]}
    assert found == {
        ("ext_parent", parent, "work"),
        ("ext_parent", parent, "marker"),
        ("ext_child", child, "wait_work"),
        ("ext_child", child, "after"),
    }
    status, cleared = api.call(
        "POST", "/api/v2/dags/ext_parent/clearTaskInstances", {**body, "dry_run": False}, token
    )
    assert status == 200, cleared

    def second_try_done() -> bool:
        tis = nodes.task_instances("ext_child", child)
        record = tis[("wait_work", -1)][0]
        return record.try_number == 2 and nodes.run_state("ext_child", child) == "success"

    wait_until(second_try_done, 60, "the cleared sensor to run again and its run to succeed")
    assert nodes.wait_run("ext_parent", parent)["state"] == "success"
    assert nodes.task_instances("ext_parent", parent)[("work", -1)][0].try_number == 2


def test_clearing_a_whole_run_or_with_the_cli_follows_the_marker(api: Api) -> None:
    nodes = api.cluster
    when = "2025-06-01T00:00:00+00:00"
    parent = nodes.trigger("ext_parent", "parent_run_clear", logical_date=when)
    child = nodes.trigger("ext_child", "child_run_clear", logical_date=when)
    nodes.wait_run("ext_parent", parent)
    nodes.wait_run("ext_child", child)
    status, listed = api.call(
        "POST", f"/api/v2/dags/ext_parent/dagRuns/{parent}/clear", {"dry_run": True}, api.token()
    )
    assert status == 200, listed
    found = {(ti["dag_id"], ti["task_id"]) for ti in listed["task_instances"]}
    assert found == {
        ("ext_parent", "work"),
        ("ext_parent", "marker"),
        ("ext_child", "wait_work"),
        ("ext_child", "after"),
    }
    args = ("tasks", "clear", "ext_parent", "--run-id", parent, "--task-regex", "^work$")
    env = {"AIRLANE_REDIS_URL": nodes.redis_url}
    listed_cli = run_cli(*args, "--downstream", "--dry-run", env=env)
    assert listed_cli.code == 0, listed_cli.stderr
    assert f"{parent}: marker work\n" in listed_cli.stdout
    assert f"ext_child {child}: after wait_work\n" in listed_cli.stdout
    alone = run_cli(*args, "--dry-run", env=env)
    assert "ext_child" not in alone.stdout
