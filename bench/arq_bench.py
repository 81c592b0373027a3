"""The same task path on arq, to keep the queue choice of DESIGN.md section 4 honest.

arq pins redis-py below 6, so it runs in a virtualenv of its own (``.venv-arq``, made on first
use by ``bench.run``): ``python -m bench.arq_bench <redis url> [--smoke]`` prints JSON.

arq keeps jobs in a sorted set that its workers poll; we give it its best case: 1 ms polling,
64 jobs per worker, two worker processes, and (for the hop) a chain in which each job enqueues
its successor itself, so no coordinator sits between two jobs at all.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import statistics
import time
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker

TIMES = "arqbench:times"
DONE = "arqbench:done"
POLL_DELAY_S = 0.001
MAX_JOBS = 64


async def chain_step(ctx: dict[str, Any], index: int, length: int) -> None:
    """One link: record when it started, enqueue the next link, record when it ended."""
    started = time.time()
    redis: ArqRedis = ctx["redis"]
    if index + 1 < length:
        await redis.enqueue_job("chain_step", index + 1, length)
    await redis.rpush(TIMES, f"{index} {started} {time.time()}")


async def noop(ctx: dict[str, Any]) -> None:
    await ctx["redis"].incr(DONE)


def _worker_process(url: str) -> None:
    async def main() -> None:
        worker = Worker(
            functions=[chain_step, noop],  # type: ignore[list-item]
            redis_settings=RedisSettings.from_dsn(url),
            poll_delay=POLL_DELAY_S,
            max_jobs=MAX_JOBS,
            keep_result=0,
            handle_signals=False,
            log_results=False,
        )
        await worker.async_run()

    asyncio.run(main())


async def _wait_for(check: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("arq benchmark did not finish")
        await asyncio.sleep(0.005)


async def _hop(pool: ArqRedis, length: int) -> dict[str, float]:
    await pool.delete(TIMES)
    await pool.enqueue_job("chain_step", 0, length)

    async def complete() -> bool:
        return int(await pool.llen(TIMES)) >= length

    await _wait_for(complete, 120)
    rows = sorted(
        (int(i), float(s), float(e))
        for i, s, e in (raw.decode().split() for raw in await pool.lrange(TIMES, 0, -1))
    )
    hops = [(b[1] - a[2]) * 1000 for a, b in itertools.pairwise(rows)]
    ordered = sorted(hops)
    return {
        "hop_p50_ms": statistics.median(hops),
        "hop_p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


async def _throughput(pool: ArqRedis, total: int) -> dict[str, float]:
    await pool.delete(DONE)
    started = time.perf_counter()
    for start in range(0, total, 1000):
        await asyncio.gather(*(pool.enqueue_job("noop") for _ in range(min(1000, total - start))))

    async def complete() -> bool:
        return int(await pool.get(DONE) or 0) >= total

    await _wait_for(complete, 600)
    return {"tasks_per_s": total / (time.perf_counter() - started)}


def measure(url: str, smoke: bool) -> dict[str, Any]:
    """arq's hop latency (200-job chain) and throughput (10,000 no-op jobs), two workers."""
    length, total = (10, 200) if smoke else (200, 10_000)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_worker_process, args=(url,)) for _ in range(2)]
    for worker in workers:
        worker.start()

    async def run() -> dict[str, Any]:
        pool = await create_pool(RedisSettings.from_dsn(url))
        try:
            await pool.flushdb()
            await _hop(pool, 5)  # warm up
            result = await _hop(pool, length)
            result.update(await _throughput(pool, total))
        finally:
            await pool.aclose()
        return result

    try:
        result = asyncio.run(run())
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(timeout=30)
    result.update({"poll_delay_ms": POLL_DELAY_S * 1000, "max_jobs": MAX_JOBS, "workers": 2})
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(sys.argv[1], "--smoke" in sys.argv[2:])))
