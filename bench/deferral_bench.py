"""Deferral (issue 17): many deferred tasks held by one triggerer, and how soon a fired trigger's
task resumes.

- ``held``: ``n`` tasks defer at once, each on its own DateTimeTrigger (moments a microsecond
  apart, so that the triggerer deduplicates none of them) due ``wait_s`` after the run's start;
  once every one is deferred, the triggerer's RSS and its CPU use (user + system time over a
  window, from /proc) while it waits; then the run finishes when they fire.
- ``resume``: chains of deferring tasks (a few lanes, one task at a time in each: no load),
  each deferring on a trigger due ``step_s`` ahead (long enough for the triggerer to claim it
  first) whose event carries the triggerer's clock when it fired; the resumed method records
  how long after that event it started: the event's way from the triggerer to the method
  running on a worker.
- ``sensors``: the issue's case, ``n`` unmodified Airflow ``TimeDeltaSensor(delta=3 s,
  deferrable=True)`` tasks in one run on ONE worker of 16 slots: the run from its start to its
  end, when all were deferred, and how many were deferred at once at the peak (Redis's deferred
  hash, sampled); with tries in task processes (the default) and again inline.

    python -m bench.deferral_bench [--smoke] [--only sensors]   # writes bench/results/deferral.json

:func:`section` renders them for ``docs/benchmarks.md`` (bench/report.py adds it when the file
exists).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.integration.cluster import Cluster, RedisServer, wait_until

from bench.airlane_bench import _percentile, _rss_mb, running
from bench.bench_redis import start_redis
from bench.stamp import save, stamp

RESULTS = Path(__file__).resolve().parent / "results" / "deferral.json"
COMMAND = "python -m bench.deferral_bench"
#: the issue's target for the resume latency's p50
RESUME_P50_TARGET_MS = 5.0

_TRIGGERS = '''"""The benchmark's trigger (imported by the triggerer from the DAGs folder)."""

import asyncio
import time

from airlane.sdk.triggers import BaseTrigger, TriggerEvent


class StampTrigger(BaseTrigger):
    """Fires at ``at_s`` (epoch seconds) with the time it fired."""

    def __init__(self, at_s):
        super().__init__()
        self.at_s = at_s

    def serialize(self):
        return ("bench_stamp_triggers.StampTrigger", {"at_s": self.at_s})

    async def run(self):
        await asyncio.sleep(max(0.0, self.at_s - time.time()))
        yield TriggerEvent({"fired_at": time.time()})
'''

_DEFERRING = '''
import datetime as dt
import time

from airlane import DAG
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.triggers.temporal import DateTimeTrigger
from bench_stamp_triggers import StampTrigger

RESULTS = {results!r}


class Hold(BaseOperator):
    """Defers on a DateTimeTrigger due ``wait_s`` after the run's logical date (plus
    ``offset_us``, so that no two tasks share a trigger)."""

    def __init__(self, *, wait_s, offset_us=0, **kwargs):
        super().__init__(**kwargs)
        self.wait_s = wait_s
        self.offset_us = offset_us

    def execute(self, context):
        delta = dt.timedelta(seconds=self.wait_s, microseconds=self.offset_us)
        self.defer(trigger=DateTimeTrigger(moment=context["data_interval_end"] + delta),
                   method_name="done")

    def done(self, context, event=None):
        return None


class Resume(BaseOperator):
    """Defers on a StampTrigger ``step_s`` ahead; records how long after its event it resumed."""

    def __init__(self, *, step_s, **kwargs):
        super().__init__(**kwargs)
        self.step_s = step_s

    def execute(self, context):
        self.defer(trigger=StampTrigger(time.time() + self.step_s), method_name="done")

    def done(self, context, event=None):
        late_s = time.time() - event["fired_at"]
        with open(RESULTS, "a") as out:
            out.write(f"{{late_s}}\\n")
'''


def held_dag(folder: Path, n: int, wait_s: float, results: Path) -> str:
    dag_id = f"bench_deferred_{n}"
    (folder / f"{dag_id}.py").write_text(
        _DEFERRING.format(results=str(results))
        + f"with DAG({dag_id!r}, schedule=None, max_active_tasks={n}) as dag:\n"
        + f"    for i in range({n}):\n"
        + f"        Hold(task_id=f'w{{i:05d}}', wait_s={wait_s}, offset_us=i)\n"
    )
    return dag_id


def resume_chain_dag(folder: Path, lanes: int, n: int, step_s: float, results: Path) -> str:
    dag_id = f"bench_resume_{lanes}x{n}"
    (folder / "bench_stamp_triggers.py").write_text(_TRIGGERS)
    (folder / f"{dag_id}.py").write_text(
        _DEFERRING.format(results=str(results))
        + f"with DAG({dag_id!r}, schedule=None) as dag:\n"
        + f"    for lane in range({lanes}):\n"
        + "        previous = None\n"
        + f"        for i in range({n}):\n"
        + f"            current = Resume(task_id=f'l{{lane}}_r{{i:04d}}', step_s={step_s})\n"
        + "            if previous is not None:\n"
        + "                previous >> current\n"
        + "            previous = current\n"
    )
    return dag_id


_SENSORS = '''"""The issue's case, as an Airflow user writes it."""

from datetime import timedelta

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule=None) as dag:
    for i in range({n}):
        TimeDeltaSensor(task_id=f"s{{i:04d}}", delta=timedelta(seconds={wait_s}), deferrable=True)
'''


def sensors_dag(folder: Path, n: int, wait_s: float) -> str:
    dag_id = f"bench_time_delta_sensors_{n}"
    (folder / f"{dag_id}.py").write_text(_SENSORS.format(dag_id=dag_id, n=n, wait_s=wait_s))
    return dag_id


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (/proc/<pid>/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` itself and of its children (a worker's task processes: the live
    ones' and, through ``cutime``/``cstime``, the reaped ones')."""
    own, children = 0.0, 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid):
            own += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            children += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        elif int(fields[1]) == pid:
            children += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own, children


def _cpu_by_process(cluster: Cluster) -> dict[str, float]:
    """CPU seconds so far of each service process, and of each one's children (``+tasks``)."""
    found: dict[str, float] = {}
    for name, proc in cluster.procs.items():
        own, children = _tree_cpu_s(proc.pid)
        found[name] = own
        if children:
            found[f"{name}+tasks"] = children
    return found


def _children(pid: int) -> int:
    """How many processes ``pid`` has (a worker's task processes)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            count += int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid
        except OSError:
            continue
    return count


def _deferred_count(cluster: Cluster, dag_id: str, run_id: str) -> int:
    return sum(
        1
        for record, _ in cluster.task_instances(dag_id, run_id).values()
        if record.state.value == "deferred"
    )


def held(cluster: Cluster, dag_id: str, n: int, window_s: float) -> dict[str, Any]:
    pid = cluster.procs["triggerer"].pid
    rss_before_mb = _rss_mb(pid)
    began = time.time()
    run_id = cluster.trigger(dag_id)
    wait_until(lambda: _deferred_count(cluster, dag_id, run_id) == n, 600, f"{n} deferred")
    all_deferred_s = time.time() - began
    cpu_before, at = _cpu_s(pid), time.monotonic()
    time.sleep(window_s)  # the measuring window itself
    cpu_s = _cpu_s(pid) - cpu_before
    measured_s = time.monotonic() - at
    rss_mb = _rss_mb(pid)
    assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
    return {
        "tasks": n,
        "all_deferred_s": all_deferred_s,
        "triggerer_rss_idle_mb": rss_before_mb,
        "triggerer_rss_mb": rss_mb,
        "triggerer_cpu_percent": 100 * cpu_s / measured_s,
        "window_s": measured_s,
        "run_s": time.time() - began,
    }


def _sample_deferred(cluster: Cluster, dag_id: str, run_id: str, began: float) -> dict[str, Any]:
    """Sample the deferred hash every 10 ms until the run ends: the peak held at once, when
    it was first reached, and every instance seen deferred (those deferred for less than a
    sample's period may be missed)."""
    client = cluster.redis()
    seen: set[str] = set()
    peak, peak_at, last_new_at = 0, 0.0, 0.0
    try:
        while cluster.run_state(dag_id, run_id) not in ("success", "failed"):
            fields = [f for f in client.hkeys(cluster.keys.deferred) if f.startswith(dag_id)]
            now = time.time() - began
            if len(fields) > peak:
                peak, peak_at = len(fields), now
            if not seen.issuperset(fields):
                seen.update(fields)
                last_new_at = now
            time.sleep(0.01)
    finally:
        client.close()
    return {"peak": peak, "peak_at_s": peak_at, "ever": len(seen), "last_deferred_s": last_new_at}


def sensors(cluster: Cluster, dag_id: str, n: int, wait_s: float) -> dict[str, Any]:
    """One run of ``n`` deferring TimeDeltaSensors; times from the run's logical date (its
    data interval's end, which the sensors' moment counts from)."""
    cpu_before = _cpu_by_process(cluster)
    processes_before = _children(cluster.procs["worker0"].pid)
    began = time.time()
    run_id = cluster.trigger(dag_id)
    sampled = _sample_deferred(cluster, dag_id, run_id, began)
    assert cluster.wait_run(dag_id, run_id, timeout_s=600)["state"] == "success"
    cpu_s = {k: v - cpu_before.get(k, 0.0) for k, v in _cpu_by_process(cluster).items()}
    metas = [meta for _, meta in cluster.task_instances(dag_id, run_id).values()]
    last_end = max(float(m.end_date) for m in metas) - began
    return {
        "tasks": n,
        "wait_s": wait_s,
        "run_s": last_end,
        "all_deferred_s": sampled["last_deferred_s"] if sampled["ever"] == n else None,
        "ever_deferred": sampled["ever"],
        "peak_deferred": sampled["peak"],
        "peak_at_s": sampled["peak_at_s"],
        "after_fire_s": last_end - wait_s,
        "cpu_s": cpu_s,
        "task_processes_before": processes_before,
        "task_processes_after": _children(cluster.procs["worker0"].pid),
    }


def measure_sensors(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    """The issue's 1,000 TimeDeltaSensors on one worker of 16 slots, task processes then
    inline; the DAG runs once first to warm the worker's DAG cache (and, with task processes,
    once more after the measured run: its pool may still be growing in the first)."""
    n, wait_s = (50, 3.0) if smoke else (1000, 3.0)
    folder = work / "sensor-dags"
    folder.mkdir(parents=True, exist_ok=True)
    dag_id = sensors_dag(folder, n, wait_s)
    found: dict[str, Any] = {}
    for isolation in ("process", "inline"):
        with running(
            work / f"sensors-{isolation}",
            redis,
            folder,
            workers=0,
            AIRLANE_TASK_ISOLATION=isolation,
        ) as cluster:
            cluster.start("worker0", "worker", "--concurrency", "16")
            cluster.start("triggerer", "triggerer")
            cluster.wait_for_dags(dag_id, timeout_s=120)
            sensors(cluster, dag_id, n, wait_s)
            found[isolation] = sensors(cluster, dag_id, n, wait_s)
            if isolation == "process":  # again, with the task processes the first one started
                found["process_again"] = sensors(cluster, dag_id, n, wait_s)
    return found


def resume_latency(cluster: Cluster, dag_id: str, results: Path) -> dict[str, Any]:
    results.unlink(missing_ok=True)
    run_id = cluster.trigger(dag_id)
    assert cluster.wait_run(dag_id, run_id, timeout_s=900)["state"] == "success"
    lates_ms = [1000 * float(line) for line in results.read_text().split()]
    return {
        "samples": len(lates_ms),
        "p50_ms": _percentile(lates_ms, 0.5),
        "p90_ms": _percentile(lates_ms, 0.9),
        "p99_ms": _percentile(lates_ms, 0.99),
        "max_ms": max(lates_ms),
    }


def measure(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    n, wait_s, window_s = (50, 8.0, 1.0) if smoke else (10_000, 60.0, 10.0)
    lanes, chain_n, step_s = (2, 5, 0.3) if smoke else (4, 50, 0.3)
    folder = work / "deferral-dags"
    folder.mkdir(parents=True, exist_ok=True)
    held_results, chain_results = work / "held.txt", work / "chain.txt"
    held_id = held_dag(folder, n, wait_s, held_results)
    chain_id = resume_chain_dag(folder, lanes, chain_n, step_s, chain_results)
    # one triggerer holds them all (Airflow's default capacity, 1,000, would spread them)
    capacity = str(max(n, 1000))
    with running(
        work / "deferral", redis, folder, workers=2, AIRLANE_TRIGGERER_CAPACITY=capacity
    ) as cluster:
        cluster.start("triggerer", "triggerer")
        cluster.wait_for_dags(held_id, chain_id, timeout_s=120)
        resume_latency(cluster, chain_id, chain_results)  # warm the workers' DAG caches
        resume = resume_latency(cluster, chain_id, chain_results)
        holding = held(cluster, held_id, n, window_s)
    # the same resumes with tries run in the worker itself: what the task process's relay adds
    with running(
        work / "deferral-inline", redis, folder, workers=2, AIRLANE_TASK_ISOLATION="inline"
    ) as cluster:
        cluster.start("triggerer", "triggerer")
        cluster.wait_for_dags(chain_id, timeout_s=120)
        resume_latency(cluster, chain_id, chain_results)
        inline = resume_latency(cluster, chain_id, chain_results)
    return {
        "held": holding,
        "held_wait_s": wait_s,
        "resume": resume,
        "resume_inline": inline,
        "resume_step_s": step_s,
    }


def _fmt(value: float) -> str:
    return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"


def section(found: dict[str, Any]) -> list[str]:
    """The markdown section of ``found`` (what :func:`main` wrote)."""
    held_, resume = found["held"], found["resume"]
    met = "yes" if resume["p50_ms"] <= RESUME_P50_TARGET_MS else "**no**"
    n = held_["tasks"]
    rows = [
        (f"{n:,} deferred tasks: all deferred after the run's start (s)", held_["all_deferred_s"]),
        ("triggerer RSS before the run (MB)", held_["triggerer_rss_idle_mb"]),
        (f"triggerer RSS holding {n:,} triggers (MB)", held_["triggerer_rss_mb"]),
        (
            f"triggerer CPU while they wait (% of one core, {held_['window_s']:.0f} s)",
            held_["triggerer_cpu_percent"],
        ),
        (
            f"the run, start to end, triggers due {found['held_wait_s']:.0f} s after (s)",
            held_["run_s"],
        ),
        (f"resume latency p50 (ms), {resume['samples']} tries", resume["p50_ms"]),
        ("resume latency p90 (ms)", resume["p90_ms"]),
        ("resume latency p99 (ms)", resume["p99_ms"]),
        ("resume latency max (ms)", resume["max_ms"]),
    ]
    inline = found.get("resume_inline")
    if inline:
        rows += [
            ("the same, tries inline in the worker: p50 (ms)", inline["p50_ms"]),
            ("the same, inline: p99 (ms)", inline["p99_ms"]),
        ]
    lines = [
        "## Deferral (issue 17)",
        "",
        f"`{COMMAND}`{' (smoke sizes: the figures mean nothing)' if found['smoke'] else ''};"
        f" {found['machine']}; commit {found['commit']}, {found['date']}. DAG processor,"
        " coordinator, two workers (64 slots each) and one triggerer, real processes.",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    for label, value in rows:
        target = f"<= {RESUME_P50_TARGET_MS:g} ms" if label.startswith("resume latency p50") else ""
        lines.append(f"| {label} | {_fmt(value)} | {target} | {met if target else ''} |")
    return [
        *lines,
        "",
        "- **Held**: one run of that many tasks, each deferring on its own DateTimeTrigger (moments"
        " a microsecond apart, so none is deduplicated), due a fixed time after the run's logical"
        " date; once all are `deferred`, the triggerer's VmRSS and its utime + stime over the"
        " window (`/proc/<pid>/stat`).",
        "- **Resume latency**: chains of deferring tasks (four lanes, one task at a time in"
        " each); each defers on a trigger due"
        f" {found['resume_step_s'] * 1000:.0f} ms ahead (the triggerer claims it before then)"
        " whose event carries the triggerer's clock when it fired; the resumed method records"
        " its start minus that: the event's way from the triggerer through Redis and the"
        " coordinator to the method running on a worker (in a task process, the default"
        " isolation; then again with `AIRLANE_TASK_ISOLATION=inline`). The DAG runs once first"
        " to warm the workers' DAG caches.",
        "",
        *(sensors_section(found["sensors"]) if "sensors" in found else []),
    ]


def sensors_section(lane: dict[str, Any]) -> list[str]:
    """The markdown rows of the ``sensors`` lane (:func:`measure_sensors`)."""
    columns = [lane["process"], lane.get("process_again", lane["process"]), lane["inline"]]
    n, wait_s = columns[0]["tasks"], columns[0]["wait_s"]

    def cell(run: dict[str, Any], key: str) -> str:
        value = run["cpu_s"].get(key[4:], 0.0) if key.startswith("cpu.") else run[key]
        if value is None:
            return "not all deferred"
        return f"{value:,}" if isinstance(value, int) else _fmt(value)

    rows = [
        (f"**the run, start to its last task's end (s); the sensors wait {wait_s:g} s**", "run_s"),
        (f"all {n:,} deferred (s after the run's start)", "all_deferred_s"),
        ("instances seen deferred", "ever_deferred"),
        ("peak deferred at once", "peak_deferred"),
        (f"from the moment ({wait_s:g} s) to the last task's end (s)", "after_fire_s"),
        ("task processes before the run, after it", "task_processes_before"),
        ("CPU (s): worker", "cpu.worker0"),
        ("CPU (s): its task processes", "cpu.worker0+tasks"),
        ("CPU (s): coordinator", "cpu.coordinator"),
        ("CPU (s): triggerer", "cpu.triggerer"),
    ]
    smoke = " (smoke sizes: the figures mean nothing)" if lane["smoke"] else ""
    lines = [
        f"### {n:,} deferrable TimeDeltaSensors on one worker of 16 slots",
        "",
        f"`{COMMAND} --only sensors`{smoke}; {lane['machine']}; commit {lane['commit']},"
        f" {lane['date']}. DAG processor, coordinator, ONE worker (`--concurrency 16`) and one"
        f" triggerer, real processes; one run of {n:,} unmodified"
        f" `TimeDeltaSensor(task_id=..., delta=timedelta(seconds={wait_s:g}), deferrable=True)`"
        " (from `airflow.providers.standard.sensors.time_delta`, the DAG's default"
        " `max_active_tasks`), after a first run that warms the worker's DAG cache. Times count"
        " from the run's logical date, which the sensors' moment counts from; deferred"
        " instances sampled from Redis every 10 ms; CPU from `/proc/<pid>/stat` over the run.",
        "",
        "| figure | task processes | the same again | inline |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        cells = [cell(run, key) for run in columns]
        if key == "task_processes_before":
            cells = [f"{run[key]}, {run['task_processes_after']}" for run in columns]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return [*lines, "", *lane.get("notes", []), ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--only", choices=["sensors"], help="measure this lane alone and merge it into --output"
    )
    args = parser.parse_args()
    output = Path(args.output)
    work = Path(tempfile.mkdtemp(prefix="airlane-deferral-bench-"))
    redis, _ = start_redis(work)
    try:
        if args.only:
            found = json.loads(output.read_text()) if output.exists() else {}
        else:
            found = {**measure(work, redis, args.smoke), **stamp(), "smoke": args.smoke}
        lane = measure_sensors(work, redis, args.smoke)
        found["sensors"] = {**lane, **stamp(), "smoke": args.smoke}
    finally:
        redis.stop()
    save(output, found)
    print("\n".join(section(found) if "held" in found else sensors_section(found["sensors"])))


if __name__ == "__main__":
    main()
