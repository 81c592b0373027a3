"""``GET /metrics`` in Prometheus' text format (prometheus-client), read from Redis per scrape.

Counters come from the coordinator's ``metrics`` hash; queue depths, worker slots and runs by
state are read live. Every API replica serves the same figures.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from airlane.api.appkeys import STORE
from airlane.queue import typed
from airlane.queue.codec import loads
from airlane.queue.keys import WORKER_GROUP, parse_run_ref
from airlane.queue.store import Store
from airlane.service.metrics import HOP_BUCKETS_S, bucket_field

#: a worker whose heartbeat is older than this does not count
WORKER_STALE_S = 30.0


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _counters(raw: dict[str, str]) -> list[Metric]:
    values = {name: float(value) for name, value in raw.items()}
    finished = CounterMetricFamily(
        "airlane_task_instances_finished",
        "Task instance tries that ended, by state",
        labels=["state"],
    )
    runs = CounterMetricFamily(
        "airlane_dag_runs_finished", "DAG runs that ended, by state", labels=["state"]
    )
    for name, value in sorted(values.items()):
        kind, _, state = name.partition(":")
        if kind == "ti_finished":
            finished.add_metric([state], value)
        elif kind == "run_finished":
            runs.add_metric([state], value)
    cumulative, buckets = 0.0, []
    for index in range(len(HOP_BUCKETS_S) + 1):
        cumulative += values.get(bucket_field(index), 0.0)
        bound = str(HOP_BUCKETS_S[index]) if index < len(HOP_BUCKETS_S) else "+Inf"
        buckets.append((bound, cumulative))
    hop = HistogramMetricFamily(
        "airlane_hop_latency_seconds",
        "Successor start minus the end of its last upstream instance",
        buckets=buckets,
        sum_value=values.get("hop_sum_s", 0.0),
    )
    lag = GaugeMetricFamily(
        "airlane_coordinator_event_lag_seconds",
        "Age of the oldest completion in the coordinator's latest read",
        value=values.get("event_lag_s", 0.0),
    )
    return [finished, runs, hop, lag]


async def _queues(store: Store, names: set[str], now: float) -> list[Metric]:
    depth = GaugeMetricFamily(
        "airlane_queue_depth", "Task messages not yet acknowledged", labels=["queue"]
    )
    age = GaugeMetricFamily(
        "airlane_queue_oldest_message_age_seconds",
        "Age of the oldest task message not yet acknowledged",
        labels=["queue"],
    )
    for name in sorted(names):
        key = store.keys.queue(name)
        groups = [g for g in await _groups(store, key) if g.get("name") == WORKER_GROUP]
        if not groups:
            depth.add_metric([name], 0)
            age.add_metric([name], 0)
            continue
        group = groups[0]
        pending, lag = int(group.get("pending") or 0), int(group.get("lag") or 0)
        depth.add_metric([name], pending + lag)
        oldest: list[str] = []
        if pending:
            summary = await store.client.xpending(key, WORKER_GROUP)
            if summary and summary.get("min"):
                oldest.append(str(summary["min"]))
        if lag:
            after = await store.client.xrange(
                key, f"({group.get('last-delivered-id')}", "+", count=1
            )
            if after:
                oldest.append(str(after[0][0]))
        millis = min((int(i.split("-")[0]) for i in oldest), default=None)
        age.add_metric([name], 0 if millis is None else max(0.0, now - millis / 1000))
    return [depth, age]


async def _groups(store: Store, key: str) -> list[dict[str, Any]]:
    try:
        found = await store.client.xinfo_groups(key)
    except Exception:  # no such stream yet
        return []
    return list(found)


async def _workers(store: Store, now: float) -> tuple[list[Metric], set[str]]:
    busy, total, alive = 0, 0, 0
    queues = {"default"}
    for raw in (await typed.hgetall(store.client, store.keys.workers)).values():
        info = loads(raw)
        queues.update(info.get("queues", []))
        if now - float(info.get("heartbeat_at", 0)) > WORKER_STALE_S:
            continue
        alive += 1
        busy += len(info.get("running", []))
        total += int(info.get("concurrency", 0))
    return [
        GaugeMetricFamily("airlane_workers", "Workers with a fresh heartbeat", value=alive),
        GaugeMetricFamily("airlane_worker_slots_busy", "Task slots running a try", value=busy),
        GaugeMetricFamily("airlane_worker_slots_total", "Task slots of live workers", value=total),
    ], queues


async def _runs(store: Store) -> Metric:
    states: Counter[str] = Counter()
    for ref in await store.active_run_refs():
        run = await store.run(*parse_run_ref(ref))
        if run is not None:
            states[run.get("state", "queued")] += 1
    family = GaugeMetricFamily(
        "airlane_dag_runs", "DAG runs not finished, by state", labels=["state"]
    )
    for state in ("queued", "running"):
        family.add_metric([state], states[state])
    return family


async def metrics(request: web.Request) -> web.Response:
    store = request.app[STORE]
    now = time.time()
    families = _counters(await typed.hgetall(store.client, store.keys.metrics))
    worker_families, queues = await _workers(store, now)
    families += worker_families
    families += await _queues(store, queues, now)
    families.append(await _runs(store))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return web.Response(
        body=generate_latest(registry),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
