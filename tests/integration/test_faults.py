"""Faults, each with SIGKILL on a real process: nothing is lost, nothing runs twice."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from airlane.queue.messages import TaskMessage
from airlane.sdk.timezone import utcnow
from tests.integration.cluster import Cluster, RedisServer, process_alive, wait_until

pytestmark = pytest.mark.timeout(300)


def _state(cluster: Cluster, dag_id: str, run_id: str, task_id: str) -> tuple[str, str | None]:
    found = cluster.task_instances(dag_id, run_id).get((task_id, -1))
    if found is None:
        return "none", None
    record, meta = found
    return record.state.value, meta.worker


def test_killed_worker_task_is_retried_on_the_other_worker(cluster: Cluster) -> None:
    cluster.start_all(workers=2)
    cluster.wait_for_dags("slow_task")
    run_id = cluster.trigger("slow_task")
    _, worker_id = wait_until(
        lambda: (s := _state(cluster, "slow_task", run_id, "slow"))[0] == "running" and s,
        30,
        "the slow task to run",
    )
    assert worker_id is not None
    victim_pid = int(worker_id.split("-")[-2])
    victim = next(name for name, proc in cluster.procs.items() if proc.pid == victim_pid)
    pidfile = cluster.markers / f"{run_id}-1.pid"
    wait_until(pidfile.exists, 10, "the task's child to start")
    cluster.signal(victim, signal.SIGKILL)

    summary = cluster.wait_run("slow_task", run_id, timeout_s=60)
    assert summary["state"] == "success"
    assert summary["tasks"]["slow"] == {"state": "success", "try_number": 2}
    assert summary["tasks"]["after"] == {"state": "success", "try_number": 1}
    _, retry_worker = _state(cluster, "slow_task", run_id, "slow")
    assert retry_worker != worker_id
    orphan = int(pidfile.read_text())
    wait_until(lambda: not process_alive(orphan), 10, "the killed worker's bash child to die")
    assert not (cluster.markers / f"{run_id}-3.pid").exists()


def _chain_under_way(cluster: Cluster) -> tuple[str, Path]:
    """Start everything and a 25-step chain; return once five steps ran."""
    cluster.start_all(workers=2)
    cluster.wait_for_dags("chain_slow")
    run_id = cluster.trigger("chain_slow")
    steps = cluster.markers / f"{run_id}.steps"
    wait_until(
        lambda: steps.exists() and len(steps.read_text().split()) >= 5, 30, "the chain to progress"
    )
    return run_id, steps


def test_killed_coordinator_is_replaced_and_the_run_finishes(cluster: Cluster) -> None:
    run_id, steps = _chain_under_way(cluster)
    # and a run triggered for later, held by the coordinator: its successor holds it too
    held_until = utcnow() + timedelta(seconds=5)
    held = cluster.trigger("simple_airflow_dag", run_after=held_until)
    cluster.signal("coordinator", signal.SIGKILL)  # returns once the process is gone
    cluster.start("coordinator2", "coordinator")
    summary = cluster.wait_run("chain_slow", run_id, timeout_s=60)
    assert summary["state"] == "success"
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())
    assert len(summary["tasks"]) == 25
    assert sorted(steps.read_text().split()) == sorted(summary["tasks"])  # each step ran once
    state = cluster.run_state("simple_airflow_dag", held)
    assert state == "queued" or utcnow() >= held_until, state
    assert cluster.wait_run("simple_airflow_dag", held, timeout_s=60)["state"] == "success"
    client = cluster.redis()
    started_s = float(client.hget(cluster.keys.run("simple_airflow_dag", held), "start_date") or 0)
    client.close()
    assert started_s >= held_until.timestamp()


def test_redis_killed_and_restarted_from_its_aof(
    cluster: Cluster, clean_redis: RedisServer
) -> None:
    run_id, steps = _chain_under_way(cluster)
    outages = cluster.logs("coordinator").count("redis unavailable")
    clean_redis.kill()
    # The coordinator has found Redis gone before it comes back (an outage, not a blip).
    wait_until(
        lambda: cluster.logs("coordinator").count("redis unavailable") > outages,
        30,
        "the coordinator to find Redis gone",
    )
    clean_redis.start()
    summary = cluster.wait_run("chain_slow", run_id, timeout_s=90)
    assert summary["state"] == "success"
    assert len(summary["tasks"]) == 25
    assert all(t["state"] == "success" for t in summary["tasks"].values())
    assert sorted(steps.read_text().split()) == sorted(summary["tasks"])


def test_a_message_delivered_twice_runs_once(cluster: Cluster) -> None:
    cluster.start_all(workers=2)
    cluster.wait_for_dags("counted")
    run_id = cluster.trigger("counted")
    wait_until(
        lambda: _state(cluster, "counted", run_id, "once")[0] == "running", 30, "the task to start"
    )
    client = cluster.redis()
    stream = cluster.keys.queue("default")
    original = next(
        fields
        for _, fields in client.xrange(stream)
        if (m := TaskMessage.from_fields(fields)).run_id == run_id and m.task_id == "once"
    )
    client.xadd(stream, original)  # a duplicate while the first delivery runs
    summary = cluster.wait_run("counted", run_id)
    duplicate = client.xadd(stream, original)  # and one after the try finished
    client.close()
    cluster.wait_for_consumed(stream, duplicate)
    assert summary["tasks"]["once"] == {"state": "success", "try_number": 1}
    executions = (cluster.markers / f"{run_id}.executions").read_text().splitlines()
    assert executions == ["once try 1"]


def test_a_command_whose_delivery_reply_was_lost_is_still_handled(cluster: Cluster) -> None:
    """Redis delivered a command to the coordinator, then the reply was lost (a dropped
    connection): the entry sits in the coordinator's pending list, where ">" reads never look."""
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker")
    wait_until(lambda: "holds the lease" in cluster.logs("coordinator"), 20, "the coordinator")
    cluster.wait_for_dags("counted")
    cluster.pause("coordinator", "airlane-coordinator")
    run_id = cluster.trigger("counted")
    client = cluster.redis()
    delivered = client.xreadgroup("coordinator", "active", {cluster.keys.commands: ">"})
    client.close()
    assert delivered, "the run's command was delivered to the coordinator's consumer"
    cluster.signal("coordinator", signal.SIGCONT)
    summary = cluster.wait_run("counted", run_id, timeout_s=30)
    assert summary["tasks"]["once"] == {"state": "success", "try_number": 1}


def test_a_task_whose_delivery_reply_was_lost_still_runs(cluster: Cluster) -> None:
    """Redis delivered a task message to a live worker, then the reply was lost: the message
    sits in that worker's pending list, and nobody reclaims a live worker's messages."""
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker")
    client = cluster.redis()
    worker_id = wait_until(lambda: next(iter(client.hkeys(cluster.keys.workers)), None), 20, "w")
    cluster.wait_for_dags("counted")
    cluster.pause("worker0", "airlane-worker")
    run_id = cluster.trigger("counted")
    stream = cluster.keys.queue("default")
    delivered = wait_until(
        lambda: client.xreadgroup("workers", worker_id, {stream: ">"}), 20, "the task message"
    )
    client.close()
    assert delivered
    cluster.signal("worker0", signal.SIGCONT)
    summary = cluster.wait_run("counted", run_id, timeout_s=30)
    assert summary["tasks"]["once"] == {"state": "success", "try_number": 1}


def test_second_coordinator_stands_by_then_takes_over(cluster: Cluster) -> None:
    cluster.start("dag-processor", "dag-processor")
    first = cluster.start("coordinator", "coordinator")
    wait_until(
        lambda: "holds the lease" in cluster.logs("coordinator"), 20, "the first coordinator"
    )
    cluster.start("standby", "coordinator")
    cluster.start("worker0", "worker")
    cluster.wait_for_dags("chain_slow")
    run_id = cluster.trigger("chain_slow")
    steps = cluster.markers / f"{run_id}.steps"
    wait_until(
        lambda: steps.exists() and len(steps.read_text().split()) >= 3, 30, "the chain to progress"
    )
    assert "holds the lease" not in cluster.logs("standby")
    assert first.poll() is None
    cluster.signal("coordinator", signal.SIGKILL)
    summary = cluster.wait_run("chain_slow", run_id, timeout_s=60)
    assert summary["state"] == "success"
    assert "holds the lease" in cluster.logs("standby")
    assert sorted(steps.read_text().split()) == sorted(summary["tasks"])


def test_worker_sigterm_hands_back_its_task(cluster: Cluster) -> None:
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker", "--grace", "0.2")
    cluster.wait_for_dags("hand_back")
    run_id = cluster.trigger("hand_back")
    wait_until(
        lambda: _state(cluster, "hand_back", run_id, "long")[0] == "running",
        30,
        "the task to start",
    )
    cluster.signal("worker0", signal.SIGTERM)
    cluster.start("worker1", "worker")
    summary = cluster.wait_run("hand_back", run_id, timeout_s=60)
    assert summary["tasks"]["long"] == {"state": "success", "try_number": 1}


def test_a_completion_lost_by_redis_is_recovered(cluster: Cluster) -> None:
    """A live worker that stops reporting a try (its completion vanished) gets that try failed."""
    from airlane.queue.keys import WORKER_GROUP
    from airlane.queue.messages import TaskMessage
    from airlane.queue.protocol import ClaimRef
    from airlane.queue.scripts import CLAIM_MANY, Claim, ClaimMany

    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.wait_for_dags("lost")
    run_id = cluster.trigger("lost")
    client = cluster.redis()
    keys = cluster.keys
    stream = keys.queue("default")
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: a worker made it already
        client.xgroup_create(stream, WORKER_GROUP, id="0", mkstream=True)

    def this_runs_message() -> str | None:
        # skip what earlier tests left in the shared queue: only this run's message will do
        for _, entries in client.xreadgroup(WORKER_GROUP, "ghost", {stream: ">"}, count=1):
            for entry_id, fields in entries:
                if TaskMessage.from_fields(fields).run_id == run_id:
                    return str(entry_id)
        return None

    message_id = wait_until(this_runs_message, 20, "the task message")
    ref = ClaimRef(stream, message_id, "lost", run_id, "quick", -1, 1).encode()
    claim = Claim("lost", run_id, "quick", -1, 1, message_ref=ref)
    wire = ClaimMany("ghost", time.time(), (claim,), completions_maxlen=1000).encode(keys)
    claimed = client.eval(CLAIM_MANY, len(wire.keys), *wire.keys, *wire.args)
    assert claimed == [1]
    deadline = time.monotonic() + 20
    started = False
    while time.monotonic() < deadline:  # a live "worker" whose heartbeats do not list the try
        client.hset(keys.workers, "ghost", json.dumps({"running": [], "heartbeat_at": time.time()}))
        client.zadd(keys.worker_beats, {"ghost": time.time()})
        if not started and _state(cluster, "lost", run_id, "quick")[0] != "running":
            cluster.start("worker0", "worker")
            started = True
        if cluster.run_state("lost", run_id) == "success":
            break
        time.sleep(0.3)
    summary = cluster.wait_run("lost", run_id, timeout_s=20)
    client.close()
    assert summary["tasks"]["quick"] == {"state": "success", "try_number": 2}
    assert "ghost no longer runs" in cluster.logs("coordinator")
