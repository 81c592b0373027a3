"""The cost of one try in a warm task process against the same try inline: wall time and CPU
(worker side and task process) per no-op PythonOperator try, alternating, medians.

python -m bench.relay_bench --tries 1000 --rounds 5

The "worker" here is this process driving ``run_isolated`` (or ``InlineRunner``) directly: no
claim, finish or log writer, only what a try costs between the two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from tests.integration.cluster import RedisServer

from airlane.queue.keys import Keys
from airlane.queue.messages import TaskMessage
from airlane.queue.store import Store
from airlane.service.execution.task_stores import TaskStores
from airlane.service.run_launcher import RedisRunLauncher
from airlane.service.worker.dag_cache import DagCache
from airlane.service.worker.inline_try import InlineRunner
from airlane.service.worker.isolated_try import TryLimits, TrySink, run_isolated
from airlane.service.worker.task_pool import TaskPool
from airlane.service.worker.task_process import TaskProcessConfig, try_request
from airlane.service.worker.tries import run_info
from bench import dags
from bench.profile import process_cpu_s

PREFIX = "relaybench"


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _message(fileloc: str, dag_id: str, i: int) -> TaskMessage:
    return TaskMessage(
        dag_id=dag_id,
        run_id="bench",
        task_id=f"leaf_{i % 10:05d}",
        map_index=-1,
        try_number=1,
        max_tries=0,
        fileloc=fileloc,
        logical_date="2026-01-01T00:00:00+00:00",
        data_interval_start="2026-01-01T00:00:00+00:00",
        data_interval_end="2026-01-01T00:00:00+00:00",
        run_type="manual",
        run_queued_at="",
        queued_at=0.0,
    )


class Bench:
    def __init__(self, url: str, fileloc: str, dag_id: str) -> None:
        self.fileloc, self.dag_id = fileloc, dag_id
        self.keys = Keys(PREFIX)
        config = TaskProcessConfig(url, PREFIX, None, 1024 * 1024, 0, os.getpid())
        self.pool = TaskPool(config, max_size=1, idle_s=3600)
        self.sync_client = redis.Redis.from_url(url, decode_responses=True)
        self.inline = InlineRunner(
            DagCache(None),
            self.sync_client,
            self.keys,
            RedisRunLauncher(Store(aioredis.Redis.from_url(url), self.keys)),
            1024 * 1024,
            TaskStores.build(self.sync_client, self.keys, url),
        )
        self.lines: list[str] = []
        self.sink = TrySink(self.lines.append, lambda: 0)

    async def one(self, mode: str, i: int) -> None:
        msg = _message(self.fileloc, self.dag_id, i)
        info = run_info(msg, {})
        if mode == "inline":
            result = await self.inline.run(msg, info, self.sink)  # type: ignore[arg-type]
        else:
            request = try_request(msg, info, "")
            result = await run_isolated(self.pool, request, self.sink, TryLimits(30.0))
        assert result.outcome.state.value == "success", result
        self.lines.clear()

    async def measure(self, mode: str, tries: int) -> dict[str, float]:
        for i in range(20):  # warm: the process, its DAG cache
            await self.one(mode, i)
        child = self.pool._idle[0].pid if mode == "process" else None
        child_before = process_cpu_s(child) if child else 0.0
        cpu_before, wall_before = _self_cpu_s(), time.perf_counter()
        for i in range(tries):
            await self.one(mode, i)
        wall = time.perf_counter() - wall_before
        worker = _self_cpu_s() - cpu_before
        task_process = process_cpu_s(child) - child_before if child else 0.0
        return {
            "wall_us": wall / tries * 1e6,
            "worker_cpu_us": worker / tries * 1e6,
            "task_process_cpu_us": task_process / tries * 1e6,
            "cpu_us": (worker + task_process) / tries * 1e6,
        }


async def _run(url: str, fileloc: str, dag_id: str, args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(url, fileloc, dag_id)
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in args.modes}
    try:
        for round_number in range(args.rounds):
            order = args.modes if round_number % 2 == 0 else list(reversed(args.modes))
            for mode in order:
                result = await bench.measure(mode, args.tries)
                samples[mode].append(result)
                print(mode, json.dumps({k: round(v, 1) for k, v in result.items()}), flush=True)
    finally:
        await bench.pool.close()
    return {
        mode: {key: round(statistics.median(s[key] for s in runs), 1) for key in runs[0]}
        for mode, runs in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", nargs="+", default=["process", "inline"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "dags"
        folder.mkdir()
        dag_id = dags.fan_out(folder, 10)
        server = RedisServer(work / "redis", appendfsync="everysec")
        server.start()
        try:
            medians = asyncio.run(_run(server.url, str(folder / f"{dag_id}.py"), dag_id, args))
        finally:
            server.stop()
    print(json.dumps({"load": os.getloadavg()[0], "medians": medians}, indent=2))


if __name__ == "__main__":
    main()
