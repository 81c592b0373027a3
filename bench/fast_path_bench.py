"""The fast path (issue 19) on and off, in one run: hop along a chain, a fan-out's throughput and
Airflow's scenario (100 DAGs x 10 linear tasks), with the Redis floor of the same run.

Rounds alternate: a cluster with ``AIRLANE_FAST_PATH=1``, then one with ``=0``, and so on;
medians per setting.

    python -m bench.fast_path_bench [--smoke] [--rounds N]   # writes bench/results/fast_path.json

:func:`section` renders it for ``docs/benchmarks.md`` (bench/report.py adds it when the file
exists; ``make bench`` runs this first).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import TimeoutError as RedisTimeout
from tests.integration.cluster import RedisServer

from airlane.service.redis_priority import RedisPriority, apply_priority, current_priority
from bench import dags, floor
from bench.airlane_bench import hop, running, throughput
from bench.bench_redis import start_redis
from bench.scenario_harness import airflow_scenario_median
from bench.stamp import save, stamp

RESULTS = Path(__file__).resolve().parent / "results" / "fast_path.json"
COMMAND = "python -m bench.fast_path_bench"


@dataclass(frozen=True, slots=True)
class Setting:
    """One column: the fast path's switch, the CPU priority Redis runs at for the round (None:
    the one the bench started it at; service/redis_priority.py) and AIRLANE_BATCH_SCHEDULING
    (service/batch_scheduling.py)."""

    fast_path: bool = True
    redis_priority: RedisPriority | None = None
    batch_scheduling: bool = True
    #: its column's head in the report (the first two are "on" and "off")
    head: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            "AIRLANE_FAST_PATH": "1" if self.fast_path else "0",
            "AIRLANE_BATCH_SCHEDULING": "on" if self.batch_scheduling else "off",
        }


#: the fast path on and off; then what Redis' CPU priority and batch scheduling each do to the
#: fast path's figures, one switched off at a time
SETTINGS = {
    "on": Setting(),
    "off": Setting(fast_path=False),
    "on_realtime_redis": Setting(
        redis_priority=RedisPriority.REALTIME, head="on, Redis at realtime priority"
    ),
    "on_no_batch": Setting(batch_scheduling=False, head="on, no batch scheduling"),
}


def one_round(work: Path, redis: RedisServer, name: str, sizes: dict[str, Any]) -> dict[str, Any]:
    setting = SETTINGS[name]
    assert redis.proc is not None
    started_at = current_priority(redis.proc.pid)
    if setting.redis_priority is not None:
        apply_priority(redis.proc.pid, setting.redis_priority)
    try:
        return _measure_round(work / f"run-{name}", redis, setting.env, sizes)
    finally:
        apply_priority(redis.proc.pid, started_at)


def _measure_round(
    work: Path, redis: RedisServer, env: dict[str, str], sizes: dict[str, Any]
) -> dict[str, Any]:
    folder = sizes["folder"]
    with running(work, redis, folder, 2, **env) as cluster:
        cluster.wait_for_dags(sizes["chain_id"], sizes["fan_id"], *sizes["scenario_ids"])
        chain = hop(cluster, sizes["chain_id"])
        fan = throughput(cluster, redis, sizes["fan_id"], sizes["fan_out"])
        scenario = airflow_scenario_median(cluster, sizes["scenario_ids"], 3)
    return {
        "hop_p50_ms": chain["p50_ms"],
        "hop_execution_p50_ms": chain["execution_p50_ms"],
        "hop_p99_ms": chain["p99_ms"],
        "tasks_per_s": fan["tasks_per_s"],
        "cpu_us_per_task": fan.get("cpu_us_per_task", {}),
        "scenario_total_lag_s": scenario["total_lag_s"],
        "scenario_execution_lag_s": scenario["execution_lag_median_s"],
        "scenario_wall_s": scenario["wall_s"],
    }


def measure_floor(redis: RedisServer, smoke: bool) -> dict[str, Any]:
    """The floor, or {} when its loop's read timed out (as it can on a loaded machine)."""
    redis.flush()
    try:
        return floor.measure(redis.url, smoke)
    except RedisTimeout:
        return {}


def measure(
    work: Path, redis: RedisServer, smoke: bool, rounds: int, with_floor: bool
) -> dict[str, Any]:
    folder = work / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    chain_n, fan_n, scenario = (10, 50, (5, 3)) if smoke else (200, 10_000, (100, 10))
    sizes: dict[str, Any] = {
        "chain_id": dags.chain(folder, chain_n),
        "fan_id": dags.fan_out(folder, fan_n),
        "scenario_ids": dags.scenario(folder, *scenario),
        "fan_out": fan_n,
        "folder": folder,
    }
    found_floor = measure_floor(redis, smoke) if with_floor else {}
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    for i in range(rounds):
        for name in SETTINGS:
            found[name].append(one_round(work / f"round{i}", redis, name, sizes))
            print(name, found[name][-1], flush=True)
    figures = (
        "hop_execution_p50_ms",
        "hop_p50_ms",
        "hop_p99_ms",
        "tasks_per_s",
        "scenario_total_lag_s",
        "scenario_execution_lag_s",
    )
    medians = {
        name: {f: statistics.median(r[f] for r in runs) for f in figures}
        for name, runs in found.items()
    }
    return {
        "floor": found_floor,
        "rounds": rounds,
        "runs": found,
        "medians": medians,
        "chain": chain_n,
        "fan_out_n": fan_n,
        "scenario": list(scenario),
    }


def section(found: dict[str, Any]) -> list[str]:
    medians, fl = found["medians"], found["floor"]
    on, off = medians["on"], medians["off"]
    # (results written before a column existed lack it)
    extra = [
        (SETTINGS[n].head, medians[n]) for n in SETTINGS if n not in ("on", "off") and n in medians
    ]
    smoke = " (smoke sizes: the figures mean nothing)" if found.get("smoke") else ""
    dags_n, tasks_n = found["scenario"]
    priority = found.get("redis_priority", "normal")

    def row(label: str, key: str, floor_value: float | None, fmt: str) -> str:
        if key not in on:  # (results written before the figure existed: no row)
            return ""
        floor_value = floor_value if fl else None
        ratio = "" if not floor_value else f" ({on[key] / floor_value:.1f} x / "
        ratio += "" if not floor_value else f"{off[key] / floor_value:.1f} x floor)"
        more = "".join(f" {m[key]:{fmt}} |" for _, m in extra)
        return f"| {label} | {on[key]:{fmt}} | {off[key]:{fmt}} |{more}{ratio} |"

    heads = "".join(f" {head} |" for head, _ in extra)
    return [
        "## Fast path (issue 19): on and off",
        "",
        f"`{COMMAND}`{smoke}; {found['machine']}; commit {found['commit']}, {found['date']}."
        " DAG processor, coordinator, two workers (64 slots each), real processes;"
        f" Redis at {priority} CPU priority;"
        f" `AIRLANE_FAST_PATH=1` and `=0` alternating, {found['rounds']} rounds each, medians."
        + "".join(_COLUMN_NOTES[head] for head, _ in extra),
        "",
        f"| figure | on | off |{heads} vs floor (on / off) |",
        "|---|---|---|" + "---|" * len(extra) + "---|",
        *_floor_rows(fl, len(extra)),
        *(
            line
            for line in (
                row(
                    f"hop to execution start p50 (ms), {found['chain']}-task chain",
                    "hop_execution_p50_ms",
                    fl.get("hop_p50_ms"),
                    ".3f",
                ),
                row(
                    "hop to the claim p50 (ms)",
                    "hop_p50_ms",
                    fl.get("hop_p50_ms"),
                    ".3f",
                ),
                row("hop p99 (ms)", "hop_p99_ms", fl.get("hop_p50_ms"), ".3f"),
                row(f"{found['fan_out_n']:,}-task fan-out (tasks/s)", "tasks_per_s", None, ",.0f"),
                row(
                    f"Airflow's scenario, {dags_n} DAGs x {tasks_n} tasks: total lag to execution"
                    " start (s)",
                    "scenario_execution_lag_s",
                    fl.get("scenario_total_lag_s"),
                    ".3f",
                ),
                row(
                    "the same, total lag to the claim (s)",
                    "scenario_total_lag_s",
                    fl.get("scenario_total_lag_s"),
                    ".3f",
                ),
            )
            if line
        ),
        "",
        "With the fast path a success's finish script queues its ready successor on its task"
        " stream at once (engine/fast_path.py) and claims it for the worker that finished the"
        " upstream, which starts it on the script's reply (Airflow's mini scheduler): the hop"
        " is the finish script, with no coordinator pass, read or claim in between. A fan-out"
        " gains little: the finished root's slot goes to one successor; the coordinator queues"
        " the others.",
        "",
        "How it stays within the coordinator's rules: the script decides only a successor whose"
        " trigger rule is met at the earliest once every upstream succeeded (all_success,"
        " all_done, none_failed, none_failed_min_one_success, none_skipped), judged from the"
        " stored records of its other upstreams (no counters to keep in step across clears"
        " and marks: a record not yet written only makes the script leave the successor to"
        " the coordinator); it queues it only while the successor's record is fresh (none) and"
        " the finished try is still the current one. Pools, max_active_tasks and"
        " max_active_tis_per_dag(run) are counted in the coordinator's memory; rather than"
        " moving those counters to Redis, the successor takes over the finished try's slot"
        " (same pool and pool_slots, same DAG, no per-task limit), so no count changes and no"
        " limit can be passed; the price is that it goes before instances already waiting for"
        " a slot of the same DAG or pool. The coordinator reads the successor from the"
        " completion (`fast`), marks it queued without sending it again, and writes its own"
        " record over the script's when a clear or mark it has not written yet decided"
        " otherwise (a worker's claim then finds no queued instance, and a try a worker"
        " claimed before is stopped when the coordinator reads its start).",
        "",
    ]


#: what the report says of each column after the first two
_COLUMN_NOTES = {
    SETTINGS["on_realtime_redis"].head: " Then the fast path again with Redis at realtime"
    " priority for that round (`AIRLANE_REDIS_PRIORITY=realtime`, session 12's default).",
    SETTINGS["on_no_batch"].head: " Then the fast path again with"
    " `AIRLANE_BATCH_SCHEDULING=off`: task processes, workers, the coordinator and the DAG"
    " processor as ordinary processes that preempt the one running when they wake"
    " (service/batch_scheduling.py).",
}


def _floor_rows(fl: dict[str, Any], extra_columns: int) -> list[str]:
    blank = "  |" * (2 + extra_columns)
    if not fl:
        return [f"| Redis floor | not measured in this run (see the table on top) |{blank}"]
    return [
        f"| Redis floor: hop p50 (ms) | {fl['hop_p50_ms']:.3f} |{blank}",
        f"| Redis floor: Airflow's scenario, total lag (s) | {fl['scenario_total_lag_s']:.3f}"
        f" |{blank}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--no-floor", action="store_true", help="leave the Redis floor out")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airlane-fast-path-bench-"))
    redis, redis_priority = start_redis(work)
    try:
        measured = measure(work, redis, args.smoke, args.rounds, not args.no_floor)
        found = {
            **measured,
            **stamp(),
            "smoke": args.smoke,
            "redis_priority": redis_priority.describe(),
        }
    finally:
        redis.stop()
    save(Path(args.output), found)
    print("\n".join(section(found)))


if __name__ == "__main__":
    main()
