"""The coordinator's part of expanding a wide run, in process: its start and the writes of it.

python -m bench.expansion_profile                       # 10,000 tasks, 5 runs, timings only
python -m bench.expansion_profile --profile /tmp/x.prof  # cProfile over the runs as well

A DAG processor (a real process) registers the DAG; the coordinator's session then runs in
this process: each round creates a run, and the time from its command to the last write of
its expansion (``on_command``, ``drain_ready`` and ``flush``, Redis included) is measured,
with the time Redis spent in the apply calls (INFO commandstats). Meant for before/after
comparisons.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.integration.cluster import Cluster

from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.protocol import RunCreated
from airlane.queue.store import RunRequest, Store
from airlane.sdk.timezone import utcnow
from airlane.service.coordinator.loop import Coordinator
from airlane.service.coordinator.settings import CoordinatorSettings
from airlane.service.process import GC_THRESHOLDS
from bench import dags, profile
from bench.bench_redis import start_redis


async def _redis_usec(client: Any) -> float:
    stats = await client.info("commandstats")
    return float(sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_ev")))


async def _rounds(
    url: str, redis_pid: int, dag_id: str, rounds: int, profiler: cProfile.Profile | None
) -> None:
    client = connect(url)
    coordinator = Coordinator(CoordinatorSettings(url), client, Keys())
    s = coordinator.session
    assert await coordinator.lease.acquire()
    await s.admission.load_pools()
    store = Store(client, coordinator.keys)
    await store.set_pool("default_pool", 100_000)
    await s.admission.load_pools()
    assert await s.runs.current_graph(dag_id) is not None  # loaded before, as by DagUpdated
    seconds, redis_s, cpu_s, redis_cpu_s = [], [], [], []
    for i in range(rounds):
        when = utcnow()
        run_id = f"bench_{i}_{time.time_ns()}"
        await store.create_run(RunRequest(dag_id, run_id, when, when, when, {}))
        await client.config_resetstat()
        began, began_cpu = time.perf_counter(), time.process_time()
        redis_began = profile.process_cpu_s(redis_pid)
        if profiler is not None:
            profiler.enable()
        await s.events.on_command(RunCreated(run=f"{dag_id}|{run_id}"))
        s.progress.drain_ready()
        await s.flush()
        if profiler is not None:
            profiler.disable()
        seconds.append(time.perf_counter() - began)
        cpu_s.append(time.process_time() - began_cpu)
        redis_s.append(await _redis_usec(client) / 1e6)
        redis_cpu_s.append(profile.process_cpu_s(redis_pid) - redis_began)
        print(
            f"round {i}: {seconds[-1]:.3f} s, coordinator CPU {cpu_s[-1]:.3f} s,"
            f" Redis (apply) {redis_s[-1]:.3f} s, Redis CPU {redis_cpu_s[-1]:.2f} s"
        )
        # the run is dropped (nothing ends it): its instances would count as held otherwise
        s.state.runs.runs.clear()
        s.state.admission.held.clear()
        s.state.admission.pool_held.clear()
        s.state.admission.task_held.clear()
        s.state.admission.run_task_held.clear()
    print(
        f"median {statistics.median(seconds):.3f} s, coordinator CPU"
        f" {statistics.median(cpu_s):.3f} s, Redis {statistics.median(redis_s):.3f} s,"
        f" Redis CPU {statistics.median(redis_cpu_s):.2f} s"
    )
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", default=None, help="cProfile output file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airlane-expansion-"))
    redis, _ = start_redis(work)
    try:
        folder = work / "dags"
        folder.mkdir()
        dag_id = dags.wide(folder, args.tasks, args.tasks)
        cluster = Cluster(redis.url, folder, work / "cluster")
        cluster.start("dag-processor", "dag-processor")
        cluster.wait_for_dags(dag_id, timeout_s=300)
        cluster.stop_all()
        gc.set_threshold(*GC_THRESHOLDS)  # as the services run (service.process)
        profiler = cProfile.Profile() if args.profile else None
        assert redis.proc is not None
        asyncio.run(_rounds(redis.url, redis.proc.pid, dag_id, args.rounds, profiler))
        if profiler is not None:
            profiler.dump_stats(args.profile)
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
