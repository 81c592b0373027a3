"""Airflow's scenario as a harness: every DAG triggered together, the total lag measured.

It depends on nothing else of ``bench`` (only on ``airlane`` and the test cluster), so that
``bench.ab`` copies it beside ``ab_round.py`` and measures every checkout with this one harness,
whatever that checkout's own ``bench`` does.
"""

from __future__ import annotations

import itertools
import json
import time

from tests.integration.cluster import Cluster, wait_until

from airlane.queue.store import RunRequest, Store
from airlane.sdk.timezone import utcnow


def instance_times(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, tuple[float, float]]:
    return {
        task_id: (float(meta.start_date or 0), float(meta.end_date or 0))
        for (task_id, _), (_, meta) in cluster.task_instances(dag_id, run_id).items()
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _trigger_together(cluster: Cluster, dag_ids: list[str]) -> list[tuple[str, str]]:
    """One run of each DAG, created back to back by one client on one connection (a harness
    that opens a connection per run spreads them over a second and takes CPU from the run)."""
    when = utcnow()
    runs = [(dag_id, f"bench__{dag_id}__{time.time_ns()}") for dag_id in dag_ids]

    async def create(store: Store) -> None:
        for dag_id, run_id in runs:
            await store.create_run(RunRequest(dag_id, run_id, when, when, when, {}))

    cluster.call(create)
    return runs


def _wait_all(cluster: Cluster, runs: list[tuple[str, str]], timeout_s: float) -> None:
    """Until every run has ended, polling all of them in one round trip every 0.1 s."""
    client = cluster.redis()

    def ended() -> bool:
        pipe = client.pipeline(transaction=False)
        for dag_id, run_id in runs:
            pipe.hget(cluster.keys.run(dag_id, run_id), "state")
        return all(state in ("success", "failed") for state in pipe.execute())

    try:
        wait_until(ended, timeout_s, "the scenario's runs to end", interval_s=0.1)
    finally:
        client.close()


def last_completion(cluster: Cluster) -> str:
    """The id of the completions stream's newest entry ("0" when it has none)."""
    client = cluster.redis()
    try:
        newest = client.xrevrange(cluster.keys.completions, count=1)
    finally:
        client.close()
    return str(newest[0][0]) if newest else "0"


def execution_starts(cluster: Cluster, after_id: str) -> dict[tuple[str, str], float]:
    """(run ref, task id) -> when its try began to execute (its task process's clock, the
    ``started_at_s`` of its outcome), from the finished completions after ``after_id``."""
    return _starts(cluster, after_id)[1]


def claim_starts(cluster: Cluster, after_id: str) -> dict[tuple[str, str], float]:
    """(run ref, task id) -> when a worker claimed its try (the ``started`` completion's
    time), after ``after_id``: the start Airlane recorded as start_date before session 14."""
    return _starts(cluster, after_id)[0]


def _starts(
    cluster: Cluster, after_id: str
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Claims and execution starts, from the completions after ``after_id``."""
    client = cluster.redis()
    claims: dict[tuple[str, str], float] = {}
    starts: dict[tuple[str, str], float] = {}
    try:
        cursor = f"({after_id}"
        while True:
            entries = client.xrange(cluster.keys.completions, min=cursor, count=10_000)
            for entry_id, fields in entries:
                kind = fields.get("kind")
                if kind == "finished":
                    started = json.loads(fields["outcome"]).get("started_at_s")
                    if started is not None:
                        starts[(fields["run"], fields["ti"].split("|", 1)[0])] = float(started)
                elif kind == "started" and fields.get("at"):
                    claims[(fields["run"], fields["ti"].split("|", 1)[0])] = float(fields["at"])
                cursor = f"({entry_id}"
            if len(entries) < 10_000:
                return claims, starts
    finally:
        client.close()


def airflow_scenario(cluster: Cluster, dag_ids: list[str]) -> dict[str, float]:
    """Every DAG triggered together; total lag: over every edge, successor start minus
    predecessor end, with the start when a worker claimed the try (its ``started``
    completion); execution lag: the same with the start when the try began to execute, after
    it got a task process (as Airflow's start_date, and Airlane's since session 14: a try
    claimed but waiting for a process is counted)."""
    started = time.time()
    since = last_completion(cluster)
    runs = _trigger_together(cluster, dag_ids)
    _wait_all(cluster, runs, timeout_s=600)
    claimed, executed = _starts(cluster, since)
    lags: list[float] = []
    execution_lags: list[float] = []
    last_end = 0.0
    for dag_id, run_id in runs:
        assert cluster.run_state(dag_id, run_id) == "success", (dag_id, run_id)
        times = instance_times(cluster, dag_id, run_id)
        order = sorted(times, key=lambda t: int(t[1:]))
        ref = f"{dag_id}|{run_id}"
        for a, b in itertools.pairwise(order):
            lags.append(claimed.get((ref, b), times[b][0]) - times[a][1])
            execution_lags.append(executed.get((ref, b), times[b][0]) - times[a][1])
        last_end = max(last_end, *(end for _, end in times.values()))
    return {
        "total_lag_s": sum(lags),
        "edge_p50_ms": percentile(lags, 0.5) * 1000,
        "edge_p99_ms": percentile(lags, 0.99) * 1000,
        "execution_lag_s": sum(execution_lags),
        "execution_edge_p50_ms": percentile(execution_lags, 0.5) * 1000,
        "wall_s": last_end - started,
        "dags": len(dag_ids),
    }


#: runs of the scenario a figure is the median of: one run's total lag swings by a factor of
#: five between runs of the same commit on this machine (how the 100 chains happen to
#: interleave on 2 busy cores)
SCENARIO_RUNS = 5


def airflow_scenario_median(
    cluster: Cluster, dag_ids: list[str], runs: int = SCENARIO_RUNS
) -> dict[str, float]:
    """``airflow_scenario`` run ``runs`` times: the run with the median total lag, with every
    run's total lag and their range beside it."""
    found = sorted(
        (airflow_scenario(cluster, dag_ids) for _ in range(runs)),
        key=lambda result: result["total_lag_s"],
    )
    median = dict(found[len(found) // 2])
    totals = [result["total_lag_s"] for result in found]
    executions = sorted(result["execution_lag_s"] for result in found)
    median.update(
        runs=runs,
        total_lag_min_s=totals[0],
        total_lag_max_s=totals[-1],
        execution_lag_median_s=executions[len(executions) // 2],
        execution_lag_min_s=executions[0],
        execution_lag_max_s=executions[-1],
    )
    return median
