"""Assets (issue 18): from a producer task's end to its consumers' first task start.

A producer DAG's one task has an asset as its outlet; consumer DAGs are scheduled on that
asset (``schedule=[asset]``), each with one task. Each round triggers the producer and waits
for every consumer's run to end; the latency of a consumer is its task's recorded start (when
its try began to execute, since session 14; the worker's claim before) minus the producer
task's end (the worker's clock), from the recorded timestamps.
Lanes: ONE consumer (``rounds`` rounds) and 100 consumers of one asset (fewer rounds; every
consumer's latency counts, and each round's slowest).

    python -m bench.asset_bench [--smoke]   # writes bench/results/assets.json

:func:`section` renders it for ``docs/benchmarks.md`` (bench/report.py adds it when the file
exists; ``make bench`` runs this first).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from tests.integration.cluster import Cluster, RedisServer, wait_until

from bench.airlane_bench import _percentile, running
from bench.bench_redis import start_redis
from bench.stamp import save, stamp

RESULTS = Path(__file__).resolve().parent / "results" / "assets.json"
COMMAND = "python -m bench.asset_bench"
#: the issue's target for one consumer's p50
ONE_P50_TARGET_MS = 5.0
MANY = 100

_DAGS = '''"""The asset benchmark's DAGs (bench/asset_bench.py)."""

import pendulum
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
ONE, MANY = Asset("bench_one"), Asset("bench_many")

for dag_id, asset in (("producer_one", ONE), ("producer_many", MANY)):
    with DAG(dag_id, schedule=None, start_date=START):
        EmptyOperator(task_id="produce", outlets=[asset])

def noop():
    pass


with DAG("consumer_one", schedule=[ONE], start_date=START):
    PythonOperator(task_id="consume", python_callable=noop)

with DAG("chain", schedule=None, start_date=START):
    EmptyOperator(task_id="produce", outlets=[Asset("bench_chain")]) >> PythonOperator(
        task_id="consume", python_callable=noop
    )

for i in range(__MANY__):
    with DAG(f"consumer_many_{i:03d}", schedule=[MANY], start_date=START):
        PythonOperator(task_id="consume", python_callable=noop)
'''


def _runs(cluster: Cluster, dag_id: str) -> list[str]:
    client = cluster.redis()
    try:
        return list(client.zrange(cluster.keys.runs_of(dag_id), 0, -1))
    finally:
        client.close()


def _queued_start_s(cluster: Cluster, dag_id: str, run_id: str) -> tuple[float, float]:
    """When the coordinator sent the run's task to the workers, and when it started."""
    (_, meta), *_ = cluster.task_instances(dag_id, run_id).values()
    return float(meta.queued_at or 0), float(meta.start_date or 0)


def _round(
    cluster: Cluster, producer: str, consumers: list[str]
) -> tuple[list[float], list[float]]:
    """One producer run; each consumer's latency (ms) to its new run's task start, and to the
    coordinator's sending of that task (the part before the workers)."""
    before = {dag_id: set(_runs(cluster, dag_id)) for dag_id in consumers}
    run_id = cluster.trigger(producer)
    assert cluster.wait_run(producer, run_id, timeout_s=120)["state"] == "success"
    (_, meta), *_ = cluster.task_instances(producer, run_id).values()
    ended_s = float(meta.end_date or 0)
    latencies, sent = [], []
    for dag_id in consumers:
        wait_until(
            lambda d=dag_id: len(_runs(cluster, d)) > len(before[d]), 120, f"a run of {dag_id}"
        )
        (new,) = set(_runs(cluster, dag_id)) - before[dag_id]
        assert cluster.wait_run(dag_id, new, timeout_s=120)["state"] == "success"
        queued_s, started_s = _queued_start_s(cluster, dag_id, new)
        latencies.append((started_s - ended_s) * 1000)
        sent.append((queued_s - ended_s) * 1000)
    return latencies, sent


def _hop(cluster: Cluster, rounds: int) -> dict[str, Any]:
    """The same measure within one DAG (the producer's downstream task): the task hop the
    asset path is compared with, in the same conditions."""
    hops, sent = [], []
    for i in range(rounds + 1):
        run_id = cluster.trigger("chain")
        assert cluster.wait_run("chain", run_id, timeout_s=120)["state"] == "success"
        times = {key[0]: meta for key, (_, meta) in cluster.task_instances("chain", run_id).items()}
        if i:  # the first warms the workers' DAG cache
            end, consume = float(times["produce"].end_date or 0), times["consume"]
            hops.append((float(consume.start_date or 0) - end) * 1000)
            sent.append((float(consume.queued_at or 0) - end) * 1000)
    return {
        "rounds": rounds,
        "p50_ms": _percentile(hops, 0.5),
        "p99_ms": _percentile(hops, 0.99),
        "sent_p50_ms": _percentile(sent, 0.5),
    }


def _lane(cluster: Cluster, producer: str, consumers: list[str], rounds: int) -> dict[str, Any]:
    _round(cluster, producer, consumers)  # warms the workers' DAG caches
    every: list[float] = []
    slowest: list[float] = []
    sent: list[float] = []
    for _ in range(rounds):
        found, sent_now = _round(cluster, producer, consumers)
        every += found
        sent += sent_now
        slowest.append(max(found))
    return {
        "consumers": len(consumers),
        "rounds": rounds,
        "p50_ms": _percentile(every, 0.5),
        "p99_ms": _percentile(every, 0.99),
        "max_ms": max(every),
        "slowest_per_round_p50_ms": _percentile(slowest, 0.5),
        "sent_p50_ms": _percentile(sent, 0.5),
    }


def measure(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    many = 5 if smoke else MANY
    folder = work / "asset_dags"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_assets.py").write_text(_DAGS.replace("__MANY__", str(many)))
    consumers = [f"consumer_many_{i:03d}" for i in range(many)]
    with running(work, redis, folder, workers=2) as cluster:
        cluster.wait_for_dags("producer_one", "consumer_one", "chain", *consumers, timeout_s=120)
        hop = _hop(cluster, 3 if smoke else 40)
        one = _lane(cluster, "producer_one", ["consumer_one"], 3 if smoke else 40)
        fan = _lane(cluster, "producer_many", consumers, 1 if smoke else 5)
    return {"one": one, "many": fan, "hop": hop}


def section(found: dict[str, Any]) -> list[str]:
    one, many = found["one"], found["many"]
    smoke = " (smoke sizes: the figures mean nothing)" if found.get("smoke") else ""
    met = "yes" if one["p50_ms"] <= ONE_P50_TARGET_MS else "**no**"
    n = many["consumers"]
    return [
        "## Assets: producer task end to consumer task start",
        "",
        f"`{COMMAND}`{smoke}; {found['machine']}; commit {found['commit']}, {found['date']}."
        " DAG processor, coordinator, two workers (64 slots each), real processes, tries in task"
        " processes. A producer DAG's one EmptyOperator has an asset as its outlet; consumer"
        " DAGs are scheduled on it (`schedule=[asset]`), one no-op PythonOperator each. Latency: a"
        " consumer's task start (its recorded start_date: when its try began to execute in its"
        " task process, since session 14; its worker's claim before) minus the producer task's"
        " end (its worker's clock), from the recorded timestamps; after one warm-up round.",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
        f"| one consumer, p50 (ms), {one['rounds']} rounds | {one['p50_ms']:.2f} |"
        f" <= {ONE_P50_TARGET_MS:g} ms | {met} |",
        f"| one consumer, p99 (ms) | {one['p99_ms']:.2f} |  |  |",
        f"| {n} consumers of one asset, p50 (ms), {many['rounds']} rounds | "
        f"{many['p50_ms']:.2f} |  |  |",
        f"| {n} consumers, p99 (ms) | {many['p99_ms']:.2f} |  |  |",
        f"| {n} consumers, the last one's start per round, p50 (ms) |"
        f" {many['slowest_per_round_p50_ms']:.2f} |  |  |",
        *_hop_rows(found.get("hop")),
        *_sent_rows(found),
        "",
    ]


def _sent_rows(found: dict[str, Any]) -> list[str]:
    """The coordinator's part: from the producer task's end to the consumer task's sending
    (its queued time), before any worker picks it up."""
    lanes = (
        ("one consumer", found["one"]),
        (f"{found['many']['consumers']} consumers", found["many"]),
        ("the same within one DAG", found.get("hop") or {}),
    )
    return [
        f"| {name}: to the task's sending by the coordinator, p50 (ms) |"
        f" {lane['sent_p50_ms']:.2f} |  |  |"
        for name, lane in lanes
        if "sent_p50_ms" in lane
    ]


def _hop_rows(hop: dict[str, Any] | None) -> list[str]:
    if not hop:
        return []
    return [
        f"| for comparison: the same within one DAG (downstream task), p50 (ms) |"
        f" {hop['p50_ms']:.2f} |  |  |",
        f"| the same within one DAG, p99 (ms) | {hop['p99_ms']:.2f} |  |  |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airlane-asset-bench-"))
    redis, _ = start_redis(work)
    try:
        found = {**measure(work, redis, args.smoke), **stamp(), "smoke": args.smoke}
    finally:
        redis.stop()
    save(Path(args.output), found)
    print("\n".join(section(found)))


if __name__ == "__main__":
    main()
