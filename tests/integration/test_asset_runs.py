"""Asset-triggered runs on real processes (issue 18): a producer's success runs its consumers,
with the triggering events in their context; ``a & b`` waits for both, ``a | b`` runs on
either; an alias resolved at run time triggers the DAG scheduled on it; a coordinator killed
between an event and its consumer's run makes that run once when it comes back.

One cluster for the module; each test has assets of its own (tests/dags/assets_runtime).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from airlane.queue import asset_metrics, assets
from airlane.queue.asset_records import AssetRef, EmittedEvent, EventSource
from airlane.queue.connection import connect
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)
DAG_IDS = ("p_single", "c_single", "p_a", "p_b", "c_and", "c_or", "p_alias", "c_alias")


@pytest.fixture(scope="module")
def cluster(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("asset_runs")
    shutil.copytree(TEST_DAGS / "assets_runtime", work / "dags")
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    nodes = Cluster(redis_server.url, work / "dags", work)
    nodes.start_all(workers=1, concurrency=4)
    try:
        nodes.wait_for_dags(*DAG_IDS, "p_restart", "c_restart")
        yield nodes
    finally:
        nodes.stop_all()


def _runs(cluster: Cluster, dag_id: str) -> list[str]:
    client = cluster.redis()
    try:
        return list(client.zrange(cluster.keys.runs_of(dag_id), 0, -1))
    finally:
        client.close()


def _wait_runs(cluster: Cluster, dag_id: str, count: int) -> list[str]:
    wait_until(lambda: len(_runs(cluster, dag_id)) >= count, 30, f"{count} run(s) of {dag_id}")
    run_ids = _runs(cluster, dag_id)
    for run_id in run_ids:
        assert cluster.wait_run(dag_id, run_id)["state"] == "success"
    return run_ids


def _returned(cluster: Cluster, dag_id: str, run_id: str, task_id: str) -> Any:
    return cluster.call(lambda store: store.xcom(dag_id, run_id, task_id, -1, "return_value"))


def _produce(cluster: Cluster, dag_id: str) -> str:
    run_id = cluster.trigger(dag_id)
    assert cluster.wait_run(dag_id, run_id)["state"] == "success"
    return run_id


def test_a_producers_success_runs_its_consumer_with_the_events(cluster: Cluster) -> None:
    producer_run = _produce(cluster, "p_single")
    (run_id,) = _wait_runs(cluster, "c_single", 1)
    assert run_id.startswith("asset_triggered__")
    run = cluster.redis().hgetall(cluster.keys.run("c_single", run_id))
    assert run["run_type"] == "asset_triggered"
    seen = _returned(cluster, "c_single", run_id, "read")
    assert seen["events"] == [
        {
            "key": "single",
            "name": "single",
            "uri": "s3://bucket/single",
            "extra": {"rows": 3},
            "source_dag_id": "p_single",
            "source_task_id": "make",
            "aliases": [],
        }
    ]
    assert seen["inlet_count"] == 1
    recorded, _ = cluster.call(
        lambda store: assets.events(store.client, store.keys, assets.EventFilter())
    )
    mine = [e for e in recorded if e["source_dag_id"] == "p_single"]
    assert [(e["source_run_id"], e["created_dagruns"]) for e in mine] == [
        (producer_run, [{"dag_id": "c_single", "run_id": run_id}])
    ]


def test_all_waits_for_both_assets_and_any_runs_on_either(cluster: Cluster) -> None:
    _produce(cluster, "p_a")
    _wait_runs(cluster, "c_or", 1)
    queued = cluster.call(lambda s: assets.queued_events(s.client, s.keys, dag_id="c_and"))
    assert [q.asset_name for q in queued] == ["a"]
    assert _runs(cluster, "c_and") == []
    _produce(cluster, "p_b")
    (both,) = _wait_runs(cluster, "c_and", 1)
    assert len(_wait_runs(cluster, "c_or", 2)) == 2
    seen = _returned(cluster, "c_and", both, "seen")
    assert sorted(e["name"] for e in seen) == ["a", "b"]


def test_an_alias_resolved_at_run_time_triggers_its_consumer(cluster: Cluster) -> None:
    _produce(cluster, "p_alias")
    (run_id,) = _wait_runs(cluster, "c_alias", 1)
    seen = _returned(cluster, "c_alias", run_id, "got")
    by_key = {e["key"]: e for e in seen}
    assert by_key["dynamic"]["extra"] == {"via": "alias"}
    assert by_key["dynamic"]["aliases"] == ["runtime_alias"]
    assert "runtime_alias" in by_key  # the alias is a key of the accessor too
    registered = cluster.call(lambda s: assets.asset_by_name(s.client, s.keys, "dynamic"))
    assert registered is not None
    assert registered.uri == "file:///tmp/dynamic"


def test_a_coordinator_killed_between_event_and_run_makes_the_run_once(cluster: Cluster) -> None:
    run_id = cluster.trigger("p_restart")
    wait_until(lambda: _running(cluster, run_id), 30, "the producer's try to start")
    cluster.pause("coordinator", "airlane-coordinator")
    (cluster.markers / "release_restart").write_text("go")
    client = cluster.redis()
    wait_until(
        lambda: any(
            f.get("kind") == "finished" and f.get("run") == f"p_restart|{run_id}"
            for _, f in client.xrange(cluster.keys.completions)
        ),
        30,
        "the producer's try to finish",
    )
    # the dead coordinator got as far as recording the try's events (its first step)
    source = EventSource("p_restart", run_id, "once", -1, 1)
    emitted = [EmittedEvent(AssetRef("restart", "restart"))]
    asyncio.run(_record(cluster, emitted, source))
    assert cluster.call(lambda s: assets.queued_events(s.client, s.keys, dag_id="c_restart"))
    cluster.signal("coordinator", signal.SIGKILL)
    cluster.start("coordinator", "coordinator")
    assert cluster.wait_run("p_restart", run_id)["state"] == "success"
    _wait_runs(cluster, "c_restart", 1)
    events, total = cluster.call(
        lambda s: assets.events(s.client, s.keys, assets.EventFilter(source_dag_id="p_restart"))
    )
    assert total == 1  # the replayed completion recorded nothing more
    assert len(events[0]["created_dagruns"]) == 1
    assert cluster.call(lambda s: assets.queued_events(s.client, s.keys, dag_id="c_restart")) == []
    assert len(_runs(cluster, "c_restart")) == 1
    client.close()


def _running(cluster: Cluster, run_id: str) -> bool:
    tis = cluster.task_instances("p_restart", run_id)
    return any(record.state.value == "running" for record, _ in tis.values())


async def _record(cluster: Cluster, emitted: list[EmittedEvent], source: EventSource) -> None:
    client = connect(cluster.redis_url)
    try:
        await assets.record_events(client, cluster.keys, emitted, source)
    finally:
        await client.aclose()


def test_an_asset_run_has_no_logical_date_and_its_template_of_ds_fails(cluster: Cluster) -> None:
    """As Airflow 3.1.8: logical_date and the data interval are None (empty in the run's hash),
    run_after is when its events were queued; the context has none of the date keys,
    ``{{ ds }}`` is undefined (StrictUndefined: the task fails), ``task_instance_key_str`` ends
    with the run id; depends_on_past neither holds an asset run nor waits on one
    (``DagRun.get_previous_dagrun`` looks only at runs with a logical date)."""
    cluster.wait_for_dags("p_fields", "c_fields")
    before = _figures(cluster)
    _produce(cluster, "p_fields")
    wait_until(lambda: len(_runs(cluster, "c_fields")) == 1, 30, "the first consumer run")
    (first,) = _runs(cluster, "c_fields")
    assert cluster.wait_run("c_fields", first)["state"] == "failed"
    run = cluster.redis().hgetall(cluster.keys.run("c_fields", first))
    assert (run["logical_date"], run["data_interval_start"], run["data_interval_end"]) == (
        "",
        "",
        "",
    )
    assert first == f"asset_triggered__{run['run_after']}_{first[-8:]}"
    seen = _returned(cluster, "c_fields", first, "look")
    assert seen == {
        "present": [],
        "key_str": f"c_fields__look__{first}",
        "logical_date": None,
        "interval": None,
        "run_after": run["run_after"],
    }
    states = {
        k[0]: r.state.value for k, (r, _) in cluster.task_instances("c_fields", first).items()
    }
    assert states == {"look": "success", "templated": "failed"}
    assert "'ds' is undefined" in "\n".join(cluster.log_lines("c_fields", first, "templated", 1))
    _produce(cluster, "p_fields")
    wait_until(lambda: len(_runs(cluster, "c_fields")) == 2, 30, "the second consumer run")
    second = next(r for r in _runs(cluster, "c_fields") if r != first)
    assert cluster.wait_run("c_fields", second)["state"] == "failed"  # ran: not held back
    # a dated run after them has no previous run by logical date either: it runs too, and
    # succeeds (its dates are set: ``look`` returns them, as serde stores datetimes, and
    # ``{{ ds }}`` renders)
    manual = cluster.trigger("c_fields")
    assert cluster.wait_run("c_fields", manual)["state"] == "success"
    after = _figures(cluster)
    assert after.events_recorded - before.events_recorded == 2
    assert after.runs_created - before.runs_created == 2


def test_an_asset_function_receives_an_asset_of_another_dag_file(cluster: Cluster) -> None:
    cluster.wait_for_dags("uses_single")
    run_id = _produce(cluster, "uses_single")
    got = _returned(cluster, "uses_single", run_id, "uses_single")
    assert got == {"name": "single", "uri": "s3://bucket/single"}


def _figures(cluster: Cluster) -> asset_metrics.AssetFigures:
    return cluster.call(lambda s: asset_metrics.asset_figures(s.client, s.keys))  # type: ignore[no-any-return]
