"""The coordinator's share of ``make bench``: expansion, fan-out CPU, Airflow's scenario, memory.

python -m bench.coordinator_bench                      # all four, full sizes, one round
python -m bench.coordinator_bench --only expansion,scenario --rounds 3
python -m bench.coordinator_bench --profile /tmp/prof  # py-spy on the coordinator as well

Each part runs as in ``bench.airlane_bench`` (same DAGs, same processes); a round measures
each part once, and the medians over the rounds are printed last, with the load average.
Meant for before/after comparisons of coordinator changes, run alternately on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from tests.integration.cluster import RedisServer

from bench import airlane_bench, dags, profile, scenario_harness
from bench.bench_redis import start_redis

PARTS = ("expansion", "fan_out", "scenario", "memory")


def _fan_out(work: Path, redis: RedisServer, folder: Path, spy: Path | None) -> dict[str, Any]:
    fan_id = dags.fan_out(folder, 10_000)
    with airlane_bench.running(work, redis, folder, workers=2) as cluster:
        cluster.wait_for_dags(fan_id, timeout_s=300)
        if spy is None:
            result = airlane_bench.throughput(cluster, redis, fan_id, 10_000)
        else:
            targets = {"coordinator": cluster.procs["coordinator"].pid}
            with profile.sampled(targets, spy / "fan_out") as frames:
                result = airlane_bench.throughput(cluster, redis, fan_id, 10_000)
            result["profile"] = frames
    return {
        "tasks_per_s": result["tasks_per_s"],
        "coordinator_us_per_task": result["cpu_us_per_task"]["coordinator"],
        "all_us_per_task": result["total_cpu_us_per_task"],
        **({"profile": result["profile"]} if "profile" in result else {}),
    }


def _scenario(work: Path, redis: RedisServer, folder: Path, spy: Path | None) -> dict[str, Any]:
    ids = dags.scenario(folder, 100, 10)
    with airlane_bench.running(work, redis, folder, workers=2) as cluster:
        cluster.wait_for_dags(*ids, timeout_s=300)
        pid = cluster.procs["coordinator"].pid
        scenario_harness.airflow_scenario(cluster, ids)  # warm the workers' DAG caches
        before = profile.process_cpu_s(pid)
        if spy is None:
            result = scenario_harness.airflow_scenario(cluster, ids)
        else:
            with profile.sampled({"coordinator": pid}, spy / "scenario") as frames:
                result = scenario_harness.airflow_scenario(cluster, ids)
            result["profile"] = frames
        result["coordinator_cpu_s"] = profile.process_cpu_s(pid) - before
    return result


def _expansion(work: Path, redis: RedisServer, folder: Path, spy: Path | None) -> dict[str, Any]:
    wide_id = dags.wide(folder, 10_000, 10_000)
    with airlane_bench.running(work, redis, folder, workers=0) as cluster:
        cluster.wait_for_dags(wide_id, timeout_s=300)
        pids = {"coordinator": cluster.procs["coordinator"].pid}
        if redis.proc is not None:
            pids["redis"] = redis.proc.pid
        before = {name: profile.process_cpu_s(pid) for name, pid in pids.items()}
        if spy is None:
            result = airlane_bench.expansion(cluster, wide_id, 10_000)
        else:
            targets = {"coordinator": pids["coordinator"]}
            with profile.sampled(targets, spy / "expansion") as frames:
                result = airlane_bench.expansion(cluster, wide_id, 10_000)
            result["profile"] = frames
        for name, pid in pids.items():
            result[f"{name}_cpu_s"] = profile.process_cpu_s(pid) - before[name]
        return result


def _memory(work: Path, redis: RedisServer, folder: Path, spy: Path | None) -> dict[str, Any]:
    held_id = dags.wide(folder, 10_000, 16)
    with airlane_bench.running(work, redis, folder, workers=0) as cluster:
        cluster.wait_for_dags(held_id, timeout_s=300)
        return airlane_bench.memory(cluster, held_id, 10, 10_000)


_RUNNERS = {"expansion": _expansion, "fan_out": _fan_out, "scenario": _scenario, "memory": _memory}
_HEADLINE = {
    "expansion": "seconds",
    "fan_out": "coordinator_us_per_task",
    "scenario": "total_lag_s",
    "memory": "coordinator_rss_mb",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", default=None, help="py-spy output folder")
    args = parser.parse_args()
    parts = [p for p in args.only.split(",") if p]
    spy = Path(args.profile) if args.profile else None
    work = Path(tempfile.mkdtemp(prefix="airlane-coord-bench-"))
    redis, _ = start_redis(work)
    rounds: dict[str, list[dict[str, Any]]] = {p: [] for p in parts}
    try:
        for i in range(args.rounds):
            for part in parts:
                folder = work / f"dags-{part}-{i}"
                folder.mkdir(parents=True)
                result = _RUNNERS[part](work / f"{part}-{i}", redis, folder, spy)
                result["load_1m"] = os.getloadavg()[0]
                rounds[part].append(result)
                print(part, json.dumps(result), flush=True)
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    medians = {
        part: {
            _HEADLINE[part]: statistics.median(r[_HEADLINE[part]] for r in results),
            "load_1m": statistics.median(r["load_1m"] for r in results),
        }
        for part, results in rounds.items()
    }
    print("medians", json.dumps(medians))


if __name__ == "__main__":
    main()
