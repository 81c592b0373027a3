"""Deferral with real processes: redis, a coordinator, workers and triggerers.

A deferred try gives its worker slot back; its trigger runs in a triggerer; a SIGKILLed
triggerer's triggers are taken over by another and every try resumes once; trigger errors and
timeouts fail their task with Airflow's errors; clearing a deferred task cancels its trigger.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def cluster(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dags"
    shutil.copytree(TEST_DAGS / "deferral", folder)
    nodes = Cluster(
        clean_redis.url,
        folder,
        tmp_path,
        AIRLANE_TRIGGERER_LEASE_S="1.5",
        AIRLANE_TRIGGERER_POLL_S="0.05",
    )
    yield nodes
    nodes.stop_all()


def _start(cluster: Cluster, *dag_ids: str, concurrency: int = 4, triggerers: int = 1) -> None:
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker", "--concurrency", str(concurrency), "--grace", "1")
    for n in range(triggerers):
        cluster.start(f"triggerer{n}", "triggerer")
    cluster.wait_for_dags(*dag_ids)


def _state(cluster: Cluster, dag_id: str, run_id: str, task_id: str, index: int = -1) -> str:
    found = cluster.task_instances(dag_id, run_id).get((task_id, index))
    return "none" if found is None else found[0].state.value


def _log(cluster: Cluster, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
    client = cluster.redis()
    key = cluster.keys.log(dag_id, run_id, task_id, -1, try_number)
    lines = [fields["line"] for _, fields in client.xrange(key)]
    client.close()
    return "\n".join(lines)


def test_a_deferred_task_frees_its_slot(cluster: Cluster) -> None:
    _start(cluster, "defer_frees_slot", concurrency=1)
    run_id = cluster.trigger("defer_frees_slot")
    summary = cluster.wait_run("defer_frees_slot", run_id, timeout_s=30)
    assert summary["state"] == "success"
    assert summary["tasks"]["waiter"] == {"state": "success", "try_number": 1}
    resumed = (cluster.markers / f"{run_id}.resumed").read_text().split()
    assert resumed == ["waiter[-1]", "1", "1", "True"]  # same try, event payload True
    assert "resumed by its trigger" in _log(cluster, "defer_frees_slot", run_id, "waiter")


def test_a_killed_triggerers_triggers_resume_once_on_another(cluster: Cluster) -> None:
    _start(cluster, "defer_many")
    run_id = cluster.trigger("defer_many")
    client = cluster.redis()
    keys = cluster.keys
    wait_until(
        lambda: client.hlen(keys.deferred) == 6 and client.hlen(keys.trigger_owners) == 3,
        30,
        "six deferred tries on three triggers, all held",
    )
    assert client.hlen(keys.triggers) == 3  # identical triggers deduplicated
    cluster.signal("triggerer0", signal.SIGKILL)
    cluster.start("triggerer1", "triggerer")
    for n in range(3):
        (cluster.markers / f"many-{n}").write_text("go")
    summary = cluster.wait_run("defer_many", run_id, timeout_s=30)
    client.close()
    assert summary["state"] == "success"
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())
    lines = (cluster.markers / f"{run_id}.resumed").read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == [f"wait[{i}]" for i in range(6)]


def test_trigger_errors_and_timeouts_fail_their_task(cluster: Cluster) -> None:
    _start(cluster, "defer_failures")
    run_id = cluster.trigger("defer_failures")
    summary = cluster.wait_run("defer_failures", run_id, timeout_s=30)
    assert summary["state"] == "failed"
    assert summary["tasks"]["broken"] == {"state": "failed", "try_number": 1}
    assert summary["tasks"]["timed_out"] == {"state": "failed", "try_number": 1}
    broken = _log(cluster, "defer_failures", run_id, "broken")
    assert "TaskDeferralError: Trigger failure" in broken
    assert "ValueError: the trigger broke" in broken
    timed_out = _log(cluster, "defer_failures", run_id, "timed_out")
    assert "TaskDeferralTimeout: Trigger timeout" in timed_out


def test_clearing_a_deferred_task_cancels_its_trigger(cluster: Cluster) -> None:
    _start(cluster, "defer_forever")
    run_id = cluster.trigger("defer_forever")
    first = cluster.markers / f"{run_id}.forever.1"
    wait_until(Path(f"{first}.started").exists, 30, "the trigger to run")
    # (the trigger can start before the coordinator has written the deferral it read)
    wait_until(
        lambda: _state(cluster, "defer_forever", run_id, "forever") == "deferred",
        30,
        "the task deferred",
    )
    cluster.call(lambda store: store.clear("defer_forever", run_id, ["forever"]))
    wait_until(Path(f"{first}.cleaned").exists, 30, "the cleared try's trigger to be cancelled")
    second = cluster.markers / f"{run_id}.forever.2"
    wait_until(Path(f"{second}.started").exists, 30, "the new try's trigger to run")
    client = cluster.redis()
    assert client.hlen(cluster.keys.triggers) == 1
    client.close()


def test_sensors_on_two_slots_are_all_deferred_at_once_then_all_succeed(cluster: Cluster) -> None:
    # Airflow's FileSensor(deferrable=True), a hundred of them on two slots: every one defers
    # (none keeps poking in a slot), all on one deduplicated trigger, and each resumes and
    # succeeds in its first try once the file is there. (bench/deferral_bench.py measures the
    # same with 1,000 TimeDeltaSensors on 16 slots.)
    _start(cluster, "defer_file_sensors", concurrency=2)
    run_id = cluster.trigger("defer_file_sensors")

    def deferred() -> int:
        tis = cluster.task_instances("defer_file_sensors", run_id).values()
        return sum(1 for record, _ in tis if record.state.value == "deferred")

    wait_until(lambda: deferred() == 100, 60, "a hundred sensors deferred at once")
    client = cluster.redis()
    assert client.hlen(cluster.keys.deferred) == 100
    assert client.hlen(cluster.keys.triggers) == 1  # one file: one deduplicated trigger
    client.close()
    (cluster.markers / "hundred").write_text("here")
    summary = cluster.wait_run("defer_file_sensors", run_id, timeout_s=60)
    assert summary["state"] == "success"
    assert len(summary["tasks"]) == 100
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())
