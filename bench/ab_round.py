"""One round of ``bench.ab`` for one checkout: the Redis floor, hop, throughput and Airflow's
scenario, measured with the checkout's own code.

``bench.ab`` copies this file out of the package and runs it as a plain script with
``PYTHONPATH=<checkout>/src:<checkout>``, so every ``bench.*``, ``tests.*`` and ``airlane``
import below resolves to the checkout (which need not have this file). Airflow's scenario is
the exception: ``scenario_harness.py``, copied beside this file, measures every checkout the
same way (how runs are triggered changes the lag it measures), and ``redis_priority.py`` (this
checkout's service/redis_priority.py) gives every checkout's Redis the same CPU priority
(``AIRLANE_REDIS_PRIORITY``), and ``ab_cpu.py`` (this checkout's bench/profile.py) measures
every checkout's CPU per task. It writes one JSON
object to ``--output``. The environment is passed on to the services unchanged (e.g.
``AIRLANE_FAST_PATH``), so the same switch applies to every checkout.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

#: What a checkout must provide, by module: the functions this round calls.
NEEDED = {
    "bench.airlane_bench": ("running", "hop", "throughput"),
    "bench.dags": ("chain", "fan_out", "scenario"),
    "bench.floor": ("measure",),
    "tests.integration.cluster": ("RedisServer",),
}
#: Exit status when the checkout lacks one of them (bench.ab reports it as such).
MISSING_EXIT = 3


def _load() -> dict[str, ModuleType]:
    """The checkout's modules, or exit with a message naming what is missing."""
    found: dict[str, ModuleType] = {}
    for name, functions in NEEDED.items():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            print(f"ab_round: this checkout has no module {name} ({exc})", file=sys.stderr)
            raise SystemExit(MISSING_EXIT) from exc
        lacking = [f for f in functions if not hasattr(module, f)]
        if lacking:
            print(f"ab_round: {name} of this checkout lacks {', '.join(lacking)}", file=sys.stderr)
            raise SystemExit(MISSING_EXIT)
        found[name] = module
    return found


def _floor(modules: dict[str, ModuleType], url: str, smoke: bool) -> dict[str, Any]:
    """The floor, or {} when its loop's read timed out (as it can on a loaded machine)."""
    from redis.exceptions import TimeoutError as RedisTimeout

    try:
        result: dict[str, Any] = modules["bench.floor"].measure(url, smoke)
    except RedisTimeout:
        return {}
    return result


def _throughput(bench: ModuleType, cluster: Any, redis: Any, dag_id: str, n: int) -> Any:
    """The fan-out (older checkouts' ``throughput`` took no ``redis``), its CPU per task by
    ``ab_cpu.py`` (bench.ab's bench/profile.py, beside this file) for every checkout alike:
    the services, Redis and the workers' task processes."""
    meter_module = importlib.import_module("ab_cpu")
    pids = {name: proc.pid for name, proc in cluster.procs.items() if name != "dag-processor"}
    workers = [pid for name, pid in pids.items() if name.startswith("worker")]
    meter = meter_module.CpuMeter(
        {**pids, "redis-server": redis.proc.pid}, below={"task processes": workers}
    )
    meter.start()
    if "redis" in inspect.signature(bench.throughput).parameters:
        result = bench.throughput(cluster, redis, dag_id, n)
    else:
        result = bench.throughput(cluster, dag_id, n)
    return {**result, **meter.stop(n)}


def measure(modules: dict[str, ModuleType], work: Path, smoke: bool) -> dict[str, Any]:
    bench, dags = modules["bench.airlane_bench"], modules["bench.dags"]
    harness = importlib.import_module("scenario_harness")  # beside this file (bench.ab)
    priority = importlib.import_module("redis_priority")  # beside this file (bench.ab)
    redis = modules["tests.integration.cluster"].RedisServer(work / "redis", appendfsync="everysec")
    folder = work / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    chain_n, fan_n, scenario = (10, 50, (5, 3)) if smoke else (200, 10_000, (100, 10))
    chain_id, fan_id = dags.chain(folder, chain_n), dags.fan_out(folder, fan_n)
    scenario_ids = dags.scenario(folder, *scenario)
    redis.start()
    outcome = priority.apply_priority(redis.proc.pid, priority.priority_from_env(os.environ))
    try:
        redis.flush()
        found_floor = _floor(modules, redis.url, smoke)
        with bench.running(work / "run", redis, folder, 2) as cluster:
            cluster.wait_for_dags(chain_id, fan_id, *scenario_ids, timeout_s=300)
            chain = bench.hop(cluster, chain_id)
            fan = _throughput(bench, cluster, redis, fan_id, fan_n)
            lag = harness.airflow_scenario_median(cluster, scenario_ids, 2 if smoke else 3)
    finally:
        redis.stop()
    return {
        "floor_hop_p50_ms": found_floor.get("hop_p50_ms"),
        "floor_tasks_per_s_batched": found_floor.get("tasks_per_s_batched"),
        "floor_scenario_total_lag_s": found_floor.get("scenario_total_lag_s"),
        "hop_p50_ms": chain["p50_ms"],
        "hop_execution_p50_ms": chain.get("execution_p50_ms"),
        "hop_p99_ms": chain["p99_ms"],
        "tasks_per_s": fan["tasks_per_s"],
        "cpu_us_per_task": fan.get("total_cpu_us_per_task"),
        "scenario_total_lag_s": lag["total_lag_s"],
        "scenario_execution_lag_s": lag.get("execution_lag_median_s"),
        "redis_priority": outcome.describe(),
        "sizes": {"chain": chain_n, "fan_out": fan_n, "scenario": list(scenario)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--output", required=True)
    parser.add_argument("--work", help="a fresh folder for Redis, DAGs and logs")
    args = parser.parse_args()
    modules = _load()
    work = Path(args.work or tempfile.mkdtemp(prefix="airlane-ab-round-"))
    found = measure(modules, work, args.smoke)
    import airlane  # the checkout's: bench.ab checks where it came from

    found["airlane_path"] = airlane.__file__
    found["bench_path"] = modules["bench.airlane_bench"].__file__
    Path(args.output).write_text(json.dumps(found) + "\n")


if __name__ == "__main__":
    main()
