"""``GET /metrics`` in Prometheus' text format (prometheus-client), read from Redis per scrape.

Counters come from the coordinator's ``metrics`` hash; queue depths, worker slots, runs by
state, and the triggerers and their triggers (issue 17) are read live. Every API replica
serves the same figures.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

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
from airlane.queue import api_reads, monitoring, trigger_monitoring
from airlane.queue.asset_metrics import AssetFigures, asset_figures
from airlane.queue.keys import parse_run_ref
from airlane.queue.monitoring import QueueStats, WorkerInfo
from airlane.queue.store import Store
from airlane.queue.trigger_monitoring import TriggerBacklog, TriggererInfo
from airlane.service.metrics import HOP_BUCKETS_S, bucket_field


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


def _queues(stats: list[QueueStats]) -> list[Metric]:
    depth = GaugeMetricFamily(
        "airlane_queue_depth", "Task messages not yet acknowledged", labels=["queue"]
    )
    age = GaugeMetricFamily(
        "airlane_queue_oldest_message_age_seconds",
        "Age of the oldest task message not yet acknowledged",
        labels=["queue"],
    )
    for one in stats:
        depth.add_metric([one.name], one.depth)
        age.add_metric([one.name], one.oldest_age_s)
    return [depth, age]


def _workers(found: list[WorkerInfo]) -> list[Metric]:
    alive = [w for w in found if w.alive]
    busy = sum(len(w.running) for w in alive)
    total = sum(w.concurrency for w in alive)
    return [
        GaugeMetricFamily("airlane_workers", "Workers with a fresh heartbeat", value=len(alive)),
        GaugeMetricFamily("airlane_worker_slots_busy", "Task slots running a try", value=busy),
        GaugeMetricFamily("airlane_worker_slots_total", "Task slots of live workers", value=total),
    ]


def _triggerers(found: list[TriggererInfo], backlog: TriggerBacklog) -> list[Metric]:
    """Per live triggerer: triggers running, capacity, events fired, loop blocks; overall: the
    stored triggers, those without a live lease, the lag of the most overdue one, and fired
    triggers whose tries have not resumed yet."""
    alive = [t for t in found if t.alive]
    label = ["triggerer"]
    running = GaugeMetricFamily(
        "airlane_triggers_running", "Triggers a triggerer runs now", labels=label
    )
    capacity = GaugeMetricFamily(
        "airlane_triggerer_capacity", "Most triggers a triggerer runs at once", labels=label
    )
    fired = CounterMetricFamily(
        "airlane_trigger_events_fired", "Trigger events fired by a triggerer", labels=label
    )
    blocked = CounterMetricFamily(
        "airlane_triggerer_blocked",
        "Times a trigger blocked the triggerer's event loop (Airflow's warning)",
        labels=label,
    )
    for one in alive:
        running.add_metric([one.triggerer_id], one.running)
        capacity.add_metric([one.triggerer_id], one.capacity)
        fired.add_metric([one.triggerer_id], one.events_fired)
        blocked.add_metric([one.triggerer_id], one.blocked)
    return [
        GaugeMetricFamily("airlane_triggerers", "Triggerers with a fresh status", value=len(alive)),
        running,
        capacity,
        fired,
        blocked,
        GaugeMetricFamily("airlane_triggers", "Stored triggers (waited on)", value=backlog.stored),
        GaugeMetricFamily(
            "airlane_triggers_unclaimed",
            "Stored triggers without a live triggerer lease",
            value=backlog.unclaimed,
        ),
        GaugeMetricFamily(
            "airlane_trigger_lag_seconds",
            "How long the most overdue trigger lease has lapsed (its triggerer died and none"
            " took it over yet)",
            value=backlog.overdue_s,
        ),
        GaugeMetricFamily(
            "airlane_trigger_resumes_pending",
            "Tries whose trigger fired and that no worker has resumed yet",
            value=backlog.resumes_pending,
        ),
    ]


def _assets(figures: AssetFigures) -> list[Metric]:
    return [
        CounterMetricFamily(
            "airlane_asset_events",
            "Asset events recorded (from tasks, the API and watchers)",
            value=figures.events_recorded,
        ),
        CounterMetricFamily(
            "airlane_asset_triggered_runs",
            "Asset-triggered DAG runs created",
            value=figures.runs_created,
        ),
        GaugeMetricFamily(
            "airlane_asset_watchers_running",
            "Asset watchers a triggerer runs now (a live lease)",
            value=figures.watchers_running,
        ),
    ]


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
    families = _counters(await api_reads.metric_counters(store))
    found = await monitoring.workers(store, now)
    families += _workers(found)
    names = sorted(monitoring.queue_names(found))
    families += _queues([await monitoring.queue_stats(store, name, now) for name in names])
    families.append(await _runs(store))
    families += _triggerers(
        await trigger_monitoring.triggerers(store, now),
        await trigger_monitoring.backlog(store, now),
    )
    families += _assets(await asset_figures(store.client, store.keys, now))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return web.Response(
        body=generate_latest(registry),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
