"""Shapes airflowctl 0.1.5 reads: an asset's ``watchers`` (newer Airflow's AssetWatcherResponse)
and a DAG run's ``dag_versions`` (the version the run was created with)."""

from __future__ import annotations

from airlane.api.asset_shapes import watcher_shapes
from airlane.api.shapes import dag_run_response, run_versions
from airlane.queue.asset_records import AssetRecord

TRIGGER = {"classpath": "airlane.sdk.triggers.redis_stream.RedisStreamTrigger", "kwargs": {"a": 1}}


def _asset(name: str, *watchers: dict[str, object]) -> AssetRecord:
    stamp = "2026-01-01T00:00:00+00:00"
    return AssetRecord(1, name, name, "asset", {}, stamp, stamp, watchers)


def test_watchers_name_one_trigger_id_for_the_same_trigger() -> None:
    first = watcher_shapes(_asset("a", {"name": "w1", "trigger": TRIGGER}))
    other_kwargs = {**TRIGGER, "kwargs": {"a": 2}}
    second = watcher_shapes(
        _asset(
            "b", {"name": "w2", "trigger": dict(TRIGGER)}, {"name": "w3", "trigger": other_kwargs}
        )
    )
    assert [w["name"] for w in first + second] == ["w1", "w2", "w3"]
    assert first[0]["trigger_id"] == second[0]["trigger_id"] != second[1]["trigger_id"]
    assert all(0 <= w["trigger_id"] < 2**63 for w in first + second)
    assert first[0]["created_date"] == "2026-01-01T00:00:00+00:00"
    assert watcher_shapes(_asset("c")) == []


def test_a_run_shows_the_version_of_the_dag_it_stored_else_the_current_one() -> None:
    versions = {"h1": {"version_number": 1}, "h2": {"version_number": 2}}
    dag = {"dag_id": "d", "hash": "h2"}
    run = {"dag_id": "d", "run_id": "r", "dag_hash": "h1"}
    assert run_versions(dag, run, versions) == [{"version_number": 1}]
    # not started yet: it will start with the DAG's current form
    assert run_versions(dag, {"dag_id": "d", "run_id": "q"}, versions) == [{"version_number": 2}]
    # a version no longer kept
    assert run_versions(dag, {**run, "dag_hash": "gone"}, versions) == []
    assert dag_run_response(dag, run, versions)["dag_versions"] == [{"version_number": 1}]
    assert dag_run_response(dag, run)["dag_versions"] == []
