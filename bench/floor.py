"""The Redis floor: a minimal Python Streams loop, worker -> completion stream -> coordinator ->
task stream -> worker, with nothing of Airlane in it. Two processes, asyncio + hiredis."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import statistics
import time
from typing import Any

import redis.asyncio as aioredis

TASKS, DONE, GROUP = "floor:tasks", "floor:done", "g"


async def _setup(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    await client.delete(TASKS, DONE, LAG)
    for stream in (TASKS, DONE):
        await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    await client.aclose()


async def _worker(url: str, total: int, batch: int) -> None:
    """Read tasks, acknowledge each and emit its completion."""
    client = aioredis.Redis.from_url(url)
    seen = 0
    while seen < total:
        response = await client.xreadgroup(GROUP, "w", {TASKS: ">"}, count=batch, block=0)
        entries = response[0][1]
        if batch == 1:  # one round trip per command, as an unbatched worker does
            for entry_id, _ in entries:
                await client.xack(TASKS, GROUP, entry_id)
                await client.xadd(DONE, {"t": "1"})
        else:
            async with client.pipeline(transaction=False) as pipe:
                for entry_id, _ in entries:
                    pipe.xack(TASKS, GROUP, entry_id)
                    pipe.xadd(DONE, {"t": "1"})
                await pipe.execute()
        seen += len(entries)
    await client.aclose()


def _worker_process(url: str, total: int, batch: int) -> None:
    asyncio.run(_worker(url, total, batch))


async def _coordinate(url: str, total: int, in_flight: int, batch: int) -> dict[str, float]:
    """Keep ``in_flight`` tasks queued; each completion queues the next task."""
    client = aioredis.Redis.from_url(url)
    sent, done = 0, 0
    rtts: list[float] = []
    sent_at: list[float] = []
    first = min(in_flight, total)
    for _ in range(first):
        sent_at.append(time.perf_counter())
        await client.xadd(TASKS, {"t": "1"})
    sent = first
    started = time.perf_counter()
    while done < total:
        response = await client.xreadgroup(GROUP, "c", {DONE: ">"}, count=batch, block=0)
        entries = response[0][1]
        now = time.perf_counter()
        async with client.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xack(DONE, GROUP, entry_id)
                if in_flight == 1:
                    rtts.append(now - sent_at[-1])
                if sent < total:
                    pipe.xadd(TASKS, {"t": "1"})
                    sent += 1
            sent_at.append(time.perf_counter())
            await pipe.execute()
        done += len(entries)
    elapsed = time.perf_counter() - started
    await client.aclose()
    result = {"tasks_per_s": total / elapsed}
    if rtts:
        result["hop_p50_ms"] = statistics.median(rtts) / 2 * 1000
    return result


def _run(url: str, total: int, in_flight: int, batch: int) -> dict[str, float]:
    asyncio.run(_setup(url))
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=_worker_process, args=(url, total, batch))
    worker.start()
    try:
        return asyncio.run(_coordinate(url, total, in_flight, batch))
    finally:
        worker.join(timeout=60)
        if worker.is_alive():
            worker.kill()


LAG = "floor:lag"


async def _chain_worker(url: str, total: int) -> None:
    """Batched worker of the chains scenario: sums successor start minus predecessor end."""
    client = aioredis.Redis.from_url(url)
    seen, lag_s = 0, 0.0
    while seen < total:
        response = await client.xreadgroup(GROUP, "w", {TASKS: ">"}, count=1000, block=0)
        entries = response[0][1]
        now = time.time()
        async with client.pipeline(transaction=False) as pipe:
            for entry_id, fields in entries:
                if b"prev_end" in fields:
                    lag_s += now - float(fields[b"prev_end"])
                pipe.xack(TASKS, GROUP, entry_id)
                pipe.xadd(DONE, {"c": fields[b"c"], "s": fields[b"s"], "end": repr(time.time())})
            await pipe.execute()
        seen += len(entries)
    await client.rpush(LAG, repr(lag_s))
    await client.aclose()


def _chain_worker_process(url: str, total: int) -> None:
    asyncio.run(_chain_worker(url, total))


async def _chain_coordinator(url: str, chains: int, length: int) -> float:
    """Start every chain, then queue each task's successor as its completion arrives."""
    client = aioredis.Redis.from_url(url)
    async with client.pipeline(transaction=False) as pipe:
        for chain in range(chains):
            pipe.xadd(TASKS, {"c": chain, "s": 0})
        await pipe.execute()
    done = 0
    while done < chains * length:
        response = await client.xreadgroup(GROUP, "c", {DONE: ">"}, count=1000, block=0)
        entries = response[0][1]
        async with client.pipeline(transaction=False) as pipe:
            for entry_id, fields in entries:
                pipe.xack(DONE, GROUP, entry_id)
                step = int(fields[b"s"]) + 1
                if step < length:
                    pipe.xadd(TASKS, {"c": fields[b"c"], "s": step, "prev_end": fields[b"end"]})
            await pipe.execute()
        done += len(entries)
    _, lag = await client.blpop([LAG], timeout=0)  # the worker's sum, once it has seen all
    await client.aclose()
    return float(lag)


def chains_lag_s(url: str, chains: int, length: int) -> float:
    """Airflow's scenario on the floor: ``chains`` linear chains of ``length`` tasks together;
    the sum over every edge of successor start minus predecessor end."""
    asyncio.run(_setup(url))
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=_chain_worker_process, args=(url, chains * length))
    worker.start()
    try:
        return asyncio.run(_chain_coordinator(url, chains, length))
    finally:
        worker.join(timeout=60)
        if worker.is_alive():
            worker.kill()


def _echo(sock: socket.socket, cpu: int, rounds: int) -> None:
    os.sched_setaffinity(0, {cpu})
    for _ in range(rounds):
        sock.sendall(sock.recv(8))


def wake_rtt_us(same_cpu: bool, rounds: int = 5000) -> float | None:
    """The machine's cost of waking a process: the median round trip of one byte between two
    processes over a socket pair, on two CPUs (each wakes the other's idle CPU) or on one. No
    Redis, no Python beyond the loop: every hop of Airlane and of the floor above pays it."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 and not same_cpu:
        return None
    ours, theirs = socket.socketpair()
    mine, other = cpus[0], cpus[0] if same_cpu else cpus[1]
    echo = multiprocessing.get_context("fork").Process(target=_echo, args=(theirs, other, rounds))
    echo.start()
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {mine})
    try:
        rtts = []
        for _ in range(rounds):
            sent = time.perf_counter()
            ours.sendall(b"x")
            ours.recv(8)
            rtts.append(time.perf_counter() - sent)
    finally:
        os.sched_setaffinity(0, before)
        echo.join(timeout=10)
        ours.close()
        theirs.close()
    return statistics.median(rtts) * 1e6


def measure(url: str, smoke: bool) -> dict[str, Any]:
    n = 200 if smoke else 3000
    ping = _run(url, n, in_flight=1, batch=1)
    unbatched = _run(url, n * 4, in_flight=64, batch=1)
    batched = _run(url, n * 20, in_flight=5000, batch=1000)
    chains, length = (5, 3) if smoke else (100, 10)
    return {
        "hop_p50_ms": ping["hop_p50_ms"],
        "tasks_per_s_unbatched": unbatched["tasks_per_s"],
        "tasks_per_s_batched": batched["tasks_per_s"],
        # the median of three runs, as Airlane's scenario figure is a median (scenario_harness)
        "scenario_total_lag_s": statistics.median(
            chains_lag_s(url, chains, length) for _ in range(1 if smoke else 3)
        ),
        "wake_rtt_two_cpus_us": wake_rtt_us(same_cpu=False, rounds=500 if smoke else 5000),
        "wake_rtt_one_cpu_us": wake_rtt_us(same_cpu=True, rounds=500 if smoke else 5000),
    }
