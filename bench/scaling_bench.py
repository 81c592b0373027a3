"""Scaling worker replicas: one worker against four on the same fan-out, and how soon a worker
that joins a run under way takes its first task (while queued work waits for it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import redis as redis_sync
from tests.integration.cluster import Cluster, RedisServer, wait_until

from bench import dags
from bench.airlane_bench import _times, running

CONCURRENCY = "16"


def _start_worker(cluster: Cluster, name: str) -> tuple[int, float]:
    began = time.time()
    proc = cluster.start(name, "worker", "--concurrency", CONCURRENCY, "--grace", "1")
    return proc.pid, began


def _fan_out_seconds(cluster: Cluster, dag_id: str) -> float:
    run_id = cluster.trigger(dag_id)
    assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
    times = _times(cluster, dag_id, run_id)
    root_end = times.pop("root")[1]
    return max(end for _, end in times.values()) - root_end


def _with_workers(work: Path, redis: RedisServer, folder: Path, dag_id: str, n: int) -> float:
    with running(work, redis, folder, workers=0) as cluster:
        for i in range(n):
            _start_worker(cluster, f"worker{i}")
        cluster.wait_for_dags(dag_id, timeout_s=120)
        client = cluster.redis()
        wait_until(lambda: client.hlen(cluster.keys.workers) >= n, 60, f"{n} workers")
        client.close()
        cluster.wait_run(dag_id, cluster.trigger(dag_id), timeout_s=900)  # warm DAG caches
        return _fan_out_seconds(cluster, dag_id)


def _registered_at(client: redis_sync.Redis, keys: Any, pid: int) -> float | None:
    """When the worker of ``pid`` registered, by its own clock: its first heartbeat, written
    before it reads any task (seen long before its next one, polled every few ms)."""
    for worker_id, raw in client.hgetall(keys.workers).items():
        if f"-{pid}-" in worker_id:
            return float(json.loads(raw)["heartbeat_at"])
    return None


def _any_running(cluster: Cluster, dag_id: str, run_id: str) -> bool:
    return any(
        r.state.value == "running" for r, _ in cluster.task_instances(dag_id, run_id).values()
    )


def _first_starts(cluster: Cluster, dag_id: str, run_id: str, pids: list[int]) -> dict[int, float]:
    """The earliest try start of each worker process (by pid) in a run."""
    first: dict[int, float] = {}
    for (_, _), (_, meta) in cluster.task_instances(dag_id, run_id).items():
        for pid in pids:
            if meta.worker and f"-{pid}-" in meta.worker and meta.start_date:
                first[pid] = min(first.get(pid, float("inf")), float(meta.start_date))
    return first


def joining(
    work: Path, redis: RedisServer, folder: Path, dag_id: str, gate: Path
) -> dict[str, float]:
    """Three workers join a run whose tasks wait on ``gate``, so work is queued while they
    start; for each, from its process start to registering (importing Airlane, connecting) and
    from registering to its first task's start. The gate opens once each has a task."""
    gate.unlink(missing_ok=True)
    with running(work, redis, folder, workers=0) as cluster:
        _start_worker(cluster, "worker0")
        cluster.wait_for_dags(dag_id, timeout_s=120)
        client = cluster.redis()
        wait_until(lambda: client.hlen(cluster.keys.workers) >= 1, 60, "the first worker")
        run_id = cluster.trigger(dag_id)
        wait_until(lambda: _any_running(cluster, dag_id, run_id), 60, "the run to start")
        joined = [_start_worker(cluster, f"joiner{i}") for i in range(3)]
        pids = [pid for pid, _ in joined]
        registered: dict[int, float] = {}

        def all_registered() -> bool:
            for pid in pids:
                if pid not in registered:
                    at = _registered_at(client, cluster.keys, pid)
                    if at is not None:
                        registered[pid] = at
            return len(registered) == len(pids)

        wait_until(all_registered, 120, "the joining workers to register", interval_s=0.005)
        wait_until(
            lambda: len(_first_starts(cluster, dag_id, run_id, pids)) == len(pids),
            60,
            "each joining worker to take a task",
        )
        gate.write_text("open")
        assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
        client.close()
        first = _first_starts(cluster, dag_id, run_id, pids)
        return {
            "process_to_registered_s_max": max(registered[p] - began for p, began in joined),
            "registered_to_first_task_s_max": max(first[p] - registered[p] for p in pids),
        }


def measure(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    n, sleep_s = (50, 0.02) if smoke else (2000, 0.02)
    folder = work / "scaling-dags"
    folder.mkdir(parents=True, exist_ok=True)
    dag_id = dags.sleepy_fan_out(folder, n, sleep_s)
    gate = work / "scaling-gate"
    # 16 slots on the first worker, 16 on each joiner, and more queued than all of them hold
    gated = dags.gated_fan_out(folder, 96, gate)
    one = _with_workers(work / "one", redis, folder, dag_id, 1)
    four = _with_workers(work / "four", redis, folder, dag_id, 4)
    return {
        "tasks": n,
        "task_sleep_s": sleep_s,
        "one_worker_s": one,
        "four_workers_s": four,
        "speedup": one / four,
        **joining(work / "join", redis, folder, gated, gate),
    }
