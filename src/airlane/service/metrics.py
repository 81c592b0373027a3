"""Counters the coordinator keeps for ``GET /metrics`` (pure: no I/O).

The coordinator adds to them as events are applied and writes the increments with each
batch into the ``metrics`` hash (HINCRBYFLOAT), so any API replica can serve them and they
survive a coordinator restart.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from airlane.queue.asset_metrics import ASSET_RUNS_FIELD

#: upper bounds (seconds) of the hop-latency histogram's buckets; the last bucket is +Inf
HOP_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)
#: the ``metrics`` hash's field counting asset-triggered runs (queue/asset_metrics.py)
ASSET_RUNS_CREATED = ASSET_RUNS_FIELD


def bucket_field(index: int) -> str:
    bound = HOP_BUCKETS_S[index] if index < len(HOP_BUCKETS_S) else "inf"
    return f"hop_bucket:{bound}"


#: bucket_field of each bucket's index (the last: +Inf)
_BUCKET_FIELDS = tuple(bucket_field(i) for i in range(len(HOP_BUCKETS_S) + 1))


@dataclass
class MetricDeltas:
    """What changed since the last write."""

    values: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    gauges: dict[str, float] = field(default_factory=dict)

    def ti_finished(self, state: str) -> None:
        self.values[f"ti_finished:{state}"] += 1

    def run_finished(self, state: str) -> None:
        self.values[f"run_finished:{state}"] += 1

    def hop(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.values[_BUCKET_FIELDS[bisect.bisect_left(HOP_BUCKETS_S, seconds)]] += 1
        self.values["hop_sum_s"] += seconds
        self.values["hop_count"] += 1

    def asset_runs_created(self, count: int) -> None:
        self.values[ASSET_RUNS_CREATED] += count

    def event_lag(self, seconds: float) -> None:
        self.gauges["event_lag_s"] = max(self.gauges.get("event_lag_s", 0.0), seconds)

    def take(self) -> tuple[dict[str, float], dict[str, float]]:
        values, gauges = self.values, self.gauges
        self.values, self.gauges = defaultdict(float), {}
        return values, gauges
