"""Scaling worker replicas: one worker against four on the same fan-out, and how soon a worker
that joins a run under way takes its first task."""

from __future__ import annotations

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
    for worker_id in client.hkeys(keys.workers):
        if f"-{pid}-" in worker_id:
            return time.time()
    return None


def _any_running(cluster: Cluster, dag_id: str, run_id: str) -> bool:
    return any(
        r.state.value == "running" for r, _ in cluster.task_instances(dag_id, run_id).values()
    )


def joining(work: Path, redis: RedisServer, folder: Path, dag_id: str) -> dict[str, float]:
    """Three workers join a fan-out that one worker has started; for each, from its process
    start to registering (importing Airlane, connecting) and from registering to its first
    task's start."""
    with running(work, redis, folder, workers=0) as cluster:
        _start_worker(cluster, "worker0")
        cluster.wait_for_dags(dag_id, timeout_s=120)
        client = cluster.redis()
        wait_until(lambda: client.hlen(cluster.keys.workers) >= 1, 60, "the first worker")
        run_id = cluster.trigger(dag_id)
        wait_until(
            lambda: any(
                r.state.value == "running"
                for r, _ in cluster.task_instances(dag_id, run_id).values()
            ),
            60,
            "the run to start",
        )
        joined = [_start_worker(cluster, f"joiner{i}") for i in range(3)]
        registered: dict[int, float] = {}

        def all_registered() -> bool:
            for pid, _ in joined:
                if pid not in registered:
                    at = _registered_at(client, cluster.keys, pid)
                    if at is not None:
                        registered[pid] = at
            return len(registered) == len(joined)

        wait_until(all_registered, 60, "the joining workers to register", interval_s=0.005)
        assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
        client.close()
        first: dict[int, float] = {}
        for (_, _), (_, meta) in cluster.task_instances(dag_id, run_id).items():
            for pid, _ in joined:
                if meta.worker and f"-{pid}-" in meta.worker and meta.start_date:
                    first[pid] = min(first.get(pid, float("inf")), float(meta.start_date))
        assert set(first) == {pid for pid, _ in joined}, "a joining worker took no task"
        return {
            "process_to_registered_s_max": max(registered[p] - began for p, began in joined),
            "registered_to_first_task_s_max": max(first[p] - registered[p] for p, _ in joined),
        }


def measure(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    n, sleep_s = (50, 0.02) if smoke else (2000, 0.02)
    folder = work / "scaling-dags"
    folder.mkdir(parents=True, exist_ok=True)
    dag_id = dags.sleepy_fan_out(folder, n, sleep_s)
    one = _with_workers(work / "one", redis, folder, dag_id, 1)
    four = _with_workers(work / "four", redis, folder, dag_id, 4)
    return {
        "tasks": n,
        "task_sleep_s": sleep_s,
        "one_worker_s": one,
        "four_workers_s": four,
        "speedup": one / four,
        **joining(work / "join", redis, folder, dag_id),
    }
