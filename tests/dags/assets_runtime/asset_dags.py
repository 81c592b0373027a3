"""Producers and consumers of assets for tests/integration/test_asset_runs.py: each test has
its own assets, so that the tests share one cluster without seeing each other's events."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pendulum

from airflow.sdk import DAG, Asset, AssetAlias, task

START = pendulum.datetime(2024, 1, 1, tz="UTC")
SINGLE = Asset("single", uri="s3://bucket/single")
A, B = Asset("a"), Asset("b")
DYNAMIC = Asset("dynamic", uri="file:///tmp/dynamic")
ALIAS = AssetAlias("runtime_alias")
RESTART = Asset("restart")


def _summary(triggering_asset_events: object) -> list[dict[str, object]]:
    found = []
    for asset, events in triggering_asset_events.items():  # type: ignore[attr-defined]
        for event in events:
            found.append(
                {
                    "key": getattr(asset, "name", None),
                    "name": event.asset.name,
                    "uri": event.asset.uri,
                    "extra": dict(event.extra),
                    "source_dag_id": event.source_dag_id,
                    "source_task_id": event.source_task_id,
                    "aliases": [a["name"] for a in event.source_aliases],
                }
            )
    return found


with DAG("p_single", schedule=None, start_date=START):

    @task(outlets=[SINGLE])
    def make(*, outlet_events: object) -> None:
        outlet_events[SINGLE].extra = {"rows": 3}  # type: ignore[index]

    make()


with DAG("c_single", schedule=[SINGLE], start_date=START):

    @task(inlets=[SINGLE])
    def read(*, triggering_asset_events: object, inlet_events: object) -> dict[str, object]:
        seen = inlet_events[SINGLE]  # type: ignore[index]
        return {"events": _summary(triggering_asset_events), "inlet_count": len(seen)}

    read()


for _dag_id, _asset in (("p_a", A), ("p_b", B)):
    with DAG(_dag_id, schedule=None, start_date=START):

        @task(outlets=[_asset])
        def emit() -> None:
            pass

        emit()


for _dag_id, _condition in (("c_and", A & B), ("c_or", A | B)):
    with DAG(_dag_id, schedule=_condition, start_date=START):

        @task
        def seen(*, triggering_asset_events: object) -> list[dict[str, object]]:
            return _summary(triggering_asset_events)

        seen()


with DAG("p_alias", schedule=None, start_date=START):

    @task(outlets=[ALIAS])
    def resolve(*, outlet_events: object) -> None:
        outlet_events[ALIAS].add(DYNAMIC, extra={"via": "alias"})  # type: ignore[index]

    resolve()


with DAG("c_alias", schedule=[ALIAS], start_date=START):

    @task
    def got(*, triggering_asset_events: object) -> list[dict[str, object]]:
        return _summary(triggering_asset_events)

    got()


with DAG("p_restart", schedule=None, start_date=START):

    @task(outlets=[RESTART])
    def once() -> None:
        # ends once the test has paused the coordinator (it writes this marker then)
        marker = Path(os.environ["AIRLANE_TEST_MARKERS"]) / "release_restart"
        while not marker.exists():
            time.sleep(0.02)

    once()


with DAG("c_restart", schedule=[RESTART], start_date=START):

    @task
    def after() -> None:
        pass

    after()
