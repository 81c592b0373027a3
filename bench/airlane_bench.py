"""Airlane's own figures, measured on real processes (coordinator, two workers, redis-server)."""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import redis as redis_client
from tests.integration.cluster import Cluster, RedisServer, wait_until

from bench import dags, profile
from bench.scenario_harness import (
    SCENARIO_RUNS,
    airflow_scenario_median,
    claim_starts,
    execution_starts,
    last_completion,
)
from bench.scenario_harness import instance_times as _times
from bench.scenario_harness import percentile as _percentile


@contextmanager
def running(
    work: Path, redis: RedisServer, folder: Path, workers: int, **env: str
) -> Iterator[Cluster]:
    redis.flush()
    cluster = Cluster(redis.url, folder, work, **env)
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    for i in range(workers):
        cluster.start(f"worker{i}", "worker", "--concurrency", "64")
    # default_pool has Airflow's 128 slots; the benchmarks measure Airlane, not that limit.
    cluster.call(lambda store: store.set_pool("default_pool", 100_000))
    try:
        yield cluster
    finally:
        cluster.stop_all()


def hop(cluster: Cluster, dag_id: str) -> dict[str, float]:
    """Successor start minus predecessor end along a chain, from the recorded timestamps."""
    cluster.wait_run(dag_id, cluster.trigger(dag_id), timeout_s=600)  # warm the workers' DAG cache
    since = last_completion(cluster)
    run_id = cluster.trigger(dag_id)
    assert cluster.wait_run(dag_id, run_id, timeout_s=600)["state"] == "success"
    times = _times(cluster, dag_id, run_id)
    executed = execution_starts(cluster, since)
    claimed = claim_starts(cluster, since)
    order = sorted(times)
    ref = f"{dag_id}|{run_id}"
    # to the successor's claim by a worker, and to when its try began to execute
    hops = [
        (claimed.get((ref, b), times[b][0]) - times[a][1]) * 1000
        for a, b in itertools.pairwise(order)
    ]
    to_execution = [
        (executed.get((ref, b), times[b][0]) - times[a][1]) * 1000
        for a, b in itertools.pairwise(order)
    ]
    return {
        "p50_ms": statistics.median(hops),
        "p90_ms": _percentile(hops, 0.9),
        "p99_ms": _percentile(hops, 0.99),
        "execution_p50_ms": statistics.median(to_execution),
        "execution_p99_ms": _percentile(to_execution, 0.99),
        "hops": len(hops),
    }


def _service_pids(cluster: Cluster, redis: RedisServer) -> dict[str, int]:
    pids = {name: proc.pid for name, proc in cluster.procs.items() if name != "dag-processor"}
    assert redis.proc is not None
    return {**pids, "redis-server": redis.proc.pid}


def throughput(cluster: Cluster, redis: RedisServer, dag_id: str, n: int) -> dict[str, Any]:
    """Tasks per second of a fan-out, and the CPU each process spent per task meanwhile."""
    workers = [proc.pid for name, proc in cluster.procs.items() if name.startswith("worker")]
    meter = profile.CpuMeter(_service_pids(cluster, redis), below={"task processes": workers})
    meter.start()
    run_id = cluster.trigger(dag_id)
    assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
    cpu = meter.stop(n)
    times = _times(cluster, dag_id, run_id)
    root_end = times.pop("root")[1]
    last_end = max(end for _, end in times.values())
    seconds = last_end - root_end
    return {"tasks_per_s": n / seconds, "tasks": n, "seconds": seconds, **cpu}


def profiled(cluster: Cluster, redis: RedisServer, dag_id: str, out_dir: Path) -> dict[str, Any]:
    """The fan-out once more with py-spy on the coordinator, a worker and nothing else."""
    pids = _service_pids(cluster, redis)
    targets = {name: pids[name] for name in ("coordinator", "worker0")}
    with profile.sampled(targets, out_dir) as frames:
        run_id = cluster.trigger(dag_id)
        assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
    return frames


def expansion(cluster: Cluster, dag_id: str, n: int) -> dict[str, float]:
    """From run creation to the last of its ``n`` task messages enqueued (no worker running)."""
    client = cluster.redis()

    def coordinator_idle() -> bool:
        # Every command read and handled: the DAG versions the DAG processor announced at
        # startup are loaded, so the run is measured alone.
        groups = client.xinfo_groups(cluster.keys.commands)
        return all(g["pending"] == 0 and (g.get("lag") or 0) == 0 for g in groups)

    wait_until(coordinator_idle, 120, "the coordinator to settle", interval_s=0.05)
    created = time.time()
    run_id = cluster.trigger(dag_id)
    ref = f"{dag_id}|{run_id}"

    def last_queued() -> float | None:
        entries = client.xrevrange(cluster.keys.events, count=50)
        queued = [e for e in entries if e[1].get("run") == ref and e[1].get("state") == "queued"]
        if client.xlen(cluster.keys.queue("default")) >= n and queued:
            return int(queued[0][0].split("-")[0]) / 1000
        return None

    done = wait_until(last_queued, 300, "the run's tasks to be enqueued", interval_s=0.02)
    client.close()
    return {"seconds": done - created, "tasks": n}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(cluster: Cluster, dag_id: str, runs: int, per_run: int) -> dict[str, float]:
    """Coordinator RSS with ``runs * per_run`` live task instances (no worker: nothing ends)."""
    run_ids = [cluster.trigger(dag_id) for _ in range(runs)]
    wait_until(
        lambda: all(cluster.run_state(dag_id, r) == "running" for r in run_ids),
        600,
        "runs to start",
        0.2,
    )
    time.sleep(1.0)
    return {
        "coordinator_rss_mb": _rss_mb(cluster.procs["coordinator"].pid),
        "live_task_instances": runs * per_run,
    }


def schedule_precision(cluster: Cluster, dag_id: str, runs: int) -> dict[str, float]:
    """How late scheduled runs are created: queued_at minus the logical date they are due at."""
    cluster.call(lambda store: store.set_paused(dag_id, False))
    client = cluster.redis()
    index = cluster.keys.runs_of(dag_id)
    wait_until(lambda: client.zcard(index) >= runs + 1, 60 + runs * 2, "scheduled runs", 0.1)
    cluster.call(lambda store: store.set_paused(dag_id, True))
    late_ms = []
    for run_id in client.zrange(index, 1, runs):  # the first run is the catch-up to now
        run = client.hgetall(cluster.keys.run(dag_id, run_id))
        logical = datetime.fromisoformat(run["logical_date"]).timestamp()
        late_ms.append((float(run["queued_at"]) - logical) * 1000)
    client.close()
    return {
        "late_p50_ms": statistics.median(late_ms),
        "late_max_ms": max(late_ms),
        "runs": len(late_ms),
    }


def startup(work: Path, folder: Path) -> dict[str, float]:
    """``airlane standalone`` to the first task running; ``dags list`` on the folder."""
    data = work / "standalone"
    env = {**os.environ, "AIRLANE_DAGS_ARE_PAUSED_AT_CREATION": "false"}
    began = time.time()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airlane",
            "standalone",
            "--dags-folder",
            str(folder),
            "--data-dir",
            str(data),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: (data / "airlane.env").exists(), 60, "standalone")
        url = (data / "airlane.env").read_text().split("AIRLANE_REDIS_URL=")[1].split()[0]
        cluster = Cluster(url, folder, work)
        cluster.wait_for_dags("listed_000", timeout_s=60)
        run_id = cluster.trigger("listed_000")
        cluster.wait_run("listed_000", run_id)
        first_start = min(start for start, _ in _times(cluster, "listed_000", run_id).values())
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    listed = time.time()
    subprocess.run(
        [sys.executable, "-m", "airlane", "dags", "list", "--dags-folder", str(folder)],
        check=True,
        capture_output=True,
    )
    return {
        "standalone_to_first_task_s": first_start - began,
        "dags_list_s": time.time() - listed,
        "dag_files": len(list(folder.glob("*.py"))),
    }


def _after_aof_rewrite(redis: RedisServer, timeout_s: float = 60.0) -> float:
    """Until the append-only file rewrite the runs before may have set off is over (a forked
    redis-server writing its snapshot takes a core from what is measured next); the wait."""
    client = redis_client.Redis.from_url(redis.url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout_s:
            info = client.info("persistence")
            if not info.get("aof_rewrite_in_progress") and not info.get("rdb_bgsave_in_progress"):
                break
            time.sleep(0.05)
    finally:
        client.close()
    return time.monotonic() - started


def measure(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    sizes = (
        {
            "chain": 10,
            "fan_out": 50,
            "wide": 100,
            "memory_runs": 2,
            "scenario": (5, 3),
            "scenario_runs": 2,
            "files": 5,
            "scheduled": 2,
        }
        if smoke
        else {
            "chain": 200,
            "fan_out": 10_000,
            "wide": 10_000,
            "memory_runs": 10,
            "scenario": (100, 10),
            "scenario_runs": SCENARIO_RUNS,
            "files": 100,
            "scheduled": 10,
        }
    )
    folder = work / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    chain_id = dags.chain(folder, sizes["chain"])
    fan_id = dags.fan_out(folder, sizes["fan_out"])
    wide_id = dags.wide(folder, sizes["wide"], sizes["wide"])
    held_id = dags.wide(folder, sizes["wide"], 16)
    scenario_ids = dags.scenario(folder, *sizes["scenario"])
    every_second = dags.every_second(folder)
    results: dict[str, Any] = {}
    with running(work / "run", redis, folder, workers=2) as cluster:
        cluster.wait_for_dags(chain_id, fan_id, *scenario_ids, timeout_s=300)
        results["hop"] = hop(cluster, chain_id)
        results["throughput"] = throughput(cluster, redis, fan_id, sizes["fan_out"])
        results["profile"] = profiled(cluster, redis, fan_id, work / "profiles")
        results["airflow_scenario"] = airflow_scenario_median(
            cluster, scenario_ids, sizes["scenario_runs"]
        )
        cluster.wait_for_dags(every_second, timeout_s=60)
        results["scheduling"] = schedule_precision(cluster, every_second, sizes["scheduled"])
    results["aof_rewrite_waited_s"] = _after_aof_rewrite(redis)
    with running(work / "idle", redis, folder, workers=0) as cluster:
        cluster.wait_for_dags(wide_id, held_id, timeout_s=300)
        results["expansion"] = expansion(cluster, wide_id, sizes["wide"])
    with running(work / "memory", redis, folder, workers=0) as cluster:
        cluster.wait_for_dags(held_id, timeout_s=300)
        results["memory"] = memory(cluster, held_id, sizes["memory_runs"], sizes["wide"])
    listing = work / "listing"
    listing.mkdir(exist_ok=True)
    dags.many_files(listing, sizes["files"])
    results["startup"] = startup(work / "startup", listing)
    return results
