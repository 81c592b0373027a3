"""``/api/v2/assets*`` on a real cluster (one for the module): assets with their producers and
consumers, DAG details' asset_expression, an event POSTed from outside (recorded, its consumer
runs), queued events read and deleted, materialize, a Redis-stream watcher's message becoming
an event that runs its consumer, and asset events on the SSE stream."""

from __future__ import annotations

import json
import shutil
import signal
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)
DAGS = ("asset_producer", "asset_consumer", "stream_consumer")
STREAM = "asset-api-orders"


@pytest.fixture(scope="module")
def assets_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, str]]:
    work = tmp_path_factory.mktemp("asset-api")
    shutil.copytree(TEST_DAGS / "asset_api", work / "dags")
    cluster = api_cluster(
        redis_server,
        work,
        work / "dags",
        workers=1,
        concurrency=4,
        AIRLANE_TRIGGERER_LEASE_S="2",  # a killed triggerer's watchers are taken over soon
    )
    with cluster as api:
        api.cluster.wait_for_dags(*DAGS)
        api.cluster.start("triggerer", "triggerer")
        token = api.token()
        # the coordinator registers the DAGs' assets as it takes each DAG
        wait_until(lambda: len(_get(api, token, "/api/v2/assets")["assets"]) == 2, 30, "assets")
        yield api, token


def _get(api: Api, token: str, path: str) -> Any:
    status, body = api.call("GET", path, token=token)
    assert status == 200, body
    return body


def _asset(api: Api, token: str, name: str) -> dict[str, Any]:
    found = _get(api, token, f"/api/v2/assets?name_pattern={name}")["assets"]
    (asset,) = (a for a in found if a["name"] == name)  # a pattern matches substrings
    return dict(asset)


def test_assets_list_their_producers_consumers_and_dag_details_their_expression(
    assets_api: tuple[Api, str],
) -> None:
    api, token = assets_api
    listed = _get(api, token, "/api/v2/assets?order_by=-name")["assets"]
    assert [a["name"] for a in listed] == ["watched_orders", "orders"]
    orders = _asset(api, token, "orders")
    assert orders["uri"] == "s3://bucket/orders"
    assert [(t["dag_id"], t["task_id"]) for t in orders["producing_tasks"]] == [
        ("asset_producer", "make")
    ]
    assert [d["dag_id"] for d in orders["scheduled_dags"]] == ["asset_consumer"]
    assert [(t["dag_id"], t["task_id"]) for t in orders["consuming_tasks"]] == [
        ("asset_consumer", "read")
    ]
    assert _get(api, token, f"/api/v2/assets/{orders['id']}")["name"] == "orders"
    assert api.call("GET", "/api/v2/assets/999999", token=token)[0] == 404
    details = _get(api, token, "/api/v2/dags/asset_consumer/details")
    expected = {"uri": "s3://bucket/orders", "name": "orders", "group": "asset"}
    assert details["asset_expression"] == {"all": [{"asset": {**expected, "id": orders["id"]}}]}
    assert _get(api, token, "/api/v2/dags/asset_producer/details")["asset_expression"] is None


def _asset_runs(api: Api, token: str, dag_id: str) -> list[dict[str, Any]]:
    runs = _get(api, token, f"/api/v2/dags/{dag_id}/dagRuns")["dag_runs"]
    return [r for r in runs if r["run_type"] == "asset_triggered"]


def test_an_event_posted_from_outside_is_recorded_and_reaches_its_consumer(
    assets_api: tuple[Api, str],
) -> None:
    api, token = assets_api
    orders = _asset(api, token, "orders")
    body = {"asset_id": orders["id"], "extra": {"from": "outside"}}
    status, event = api.call("POST", "/api/v2/assets/events", body, token=token)
    assert status == 200, event
    assert (event["asset_id"], event["extra"], event["source_dag_id"]) == (
        orders["id"],
        {"from": "outside", "from_rest_api": True},  # as Airflow's CreateAssetEventsBody
        None,
    )
    listed = _get(api, token, f"/api/v2/assets/events?asset_id={orders['id']}")["asset_events"]
    assert event["id"] in [e["id"] for e in listed]
    (run,) = _asset_runs(api, token, "asset_consumer")  # created as the event was recorded
    assert api.cluster.wait_run("asset_consumer", run["dag_run_id"])["state"] == "success"
    (listed_event,) = (e for e in listed if e["id"] == event["id"])
    assert [r["run_id"] for r in listed_event["created_dagruns"]] == [run["dag_run_id"]]
    # the run's upstreamAssetEvents: the event that triggered it
    upstream = f"/api/v2/dags/asset_consumer/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
    assert [e["id"] for e in _get(api, token, upstream)["asset_events"]] == [event["id"]]
    # the run listing's consuming_asset_pattern: the asset's name or uri, any case
    consuming = "/api/v2/dags/~/dagRuns?consuming_asset_pattern="
    found = _get(api, token, consuming + "BUCKET/ORD")["dag_runs"]
    assert run["dag_run_id"] in [r["dag_run_id"] for r in found]
    assert {r["run_type"] for r in found} == {"asset_triggered"}
    assert _get(api, token, consuming + "no-such-asset")["dag_runs"] == []
    missing = api.call("POST", "/api/v2/assets/events", {"asset_id": 999999}, token=token)
    assert missing[0] == 404
    # Airflow 3.3's partition_key and access_control: null, or every consumer, is taken;
    # what Airlane cannot carry (no asset partitions, no teams) is refused naming the field
    everybody = {"consumer_teams": None, "allow_global": True}
    taken = {"asset_id": orders["id"], "partition_key": None, "access_control": everybody}
    assert api.call("POST", "/api/v2/assets/events", taken, token=token)[0] == 200
    for field, value in (
        ("partition_key", "2026-01"),
        ("access_control", {"consumer_teams": ["blue"]}),
        ("access_control", {"allow_global": False}),
    ):
        body = {"asset_id": orders["id"], field: value}
        status, answer = api.call("POST", "/api/v2/assets/events", body, token=token)
        assert (status, answer["detail"][0]["loc"][:2]) == (422, ["body", field]), answer


def test_queued_events_are_read_and_deleted_per_dag(assets_api: tuple[Api, str]) -> None:
    api, token = assets_api
    api.call("PATCH", "/api/v2/dags/asset_consumer", {"is_paused": True}, token=token)
    try:
        orders = _asset(api, token, "orders")
        # a paused consumer is not queued (Airflow's register_asset_change skips it)
        api.call("POST", "/api/v2/assets/events", {"asset_id": orders["id"]}, token=token)
        path = "/api/v2/dags/asset_consumer/assets/queuedEvents"
        while _get(api, token, path)["queued_events"]:
            assert api.call("DELETE", path, token=token)[0] == 204
        assert api.call("DELETE", path, token=token)[0] == 404
        one = f"/api/v2/dags/asset_consumer/assets/{orders['id']}/queuedEvents"
        assert api.call("GET", one, token=token)[0] == 404
    finally:
        api.call("PATCH", "/api/v2/dags/asset_consumer", {"is_paused": False}, token=token)


def test_materialize_runs_the_one_producer(assets_api: tuple[Api, str]) -> None:
    api, token = assets_api
    orders = _asset(api, token, "orders")
    status, run = api.call("POST", f"/api/v2/assets/{orders['id']}/materialize", token=token)
    assert status == 200, run
    assert run["dag_id"] == "asset_producer"
    assert api.cluster.wait_run("asset_producer", run["dag_run_id"])["state"] == "success"
    # MaterializeAssetBody: the trigger's fields, each carried to the run
    path = f"/api/v2/assets/{orders['id']}/materialize"
    body = {"dag_run_id": "made_by_hand", "conf": {"size": 3}, "note": "by hand"}
    status, run = api.call("POST", path, body, token=token)
    assert status == 200, run
    assert (run["dag_run_id"], run["conf"], run["note"], run["run_type"]) == (
        "made_by_hand",
        {"size": 3},
        "by hand",
        "asset_materialization",
    )
    assert api.cluster.wait_run("asset_producer", "made_by_hand")["state"] == "success"
    assert api.call("POST", path, {"dag_run_id": "made_by_hand"}, token=token)[0] == 409
    assert api.call("POST", path, {"partition_key": "2026-01"}, token=token)[0] == 400
    status, answer = api.call("POST", path, {"size": 3}, token=token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "size"])
    watched = _asset(api, token, "watched_orders")
    assert api.call("POST", f"/api/v2/assets/{watched['id']}/materialize", token=token)[0] == 404


def _stream_events(api: Api, token: str, asset_id: int) -> list[dict[str, Any]]:
    path = f"/api/v2/assets/events?asset_id={asset_id}"
    return list(_get(api, token, path)["asset_events"])


def test_a_redis_stream_message_becomes_one_event_of_the_watched_asset(
    assets_api: tuple[Api, str],
) -> None:
    api, token = assets_api
    watched = _asset(api, token, "watched_orders")
    entry_id = _xadd(api, {"order": "42"})
    wait_until(lambda: _stream_events(api, token, watched["id"]), 20, "the watcher's event")
    (event,) = _stream_events(api, token, watched["id"])
    payload = {"stream": STREAM, "id": entry_id, "fields": {"order": "42"}}
    assert event["extra"] == {"from_trigger": True, "payload": payload}
    # the run is created just after the event is recorded (same call of the triggerer)
    wait_until(lambda: _asset_runs(api, token, "stream_consumer"), 10, "the consumer's run")
    (run,) = _asset_runs(api, token, "stream_consumer")
    assert api.cluster.wait_run("stream_consumer", run["dag_run_id"])["state"] == "success"


def _xadd(api: Api, fields: dict[str, str]) -> str:
    client = api.cluster.redis()
    try:
        return str(client.xadd(STREAM, fields))  # type: ignore[arg-type]
    finally:
        client.close()


def test_a_message_sent_while_the_triggerer_is_down_is_recorded_once_after(
    assets_api: tuple[Api, str],
) -> None:
    api, token = assets_api
    watched = _asset(api, token, "watched_orders")
    before = len(_stream_events(api, token, watched["id"]))
    api.cluster.signal("triggerer", signal.SIGKILL)
    sent = [_xadd(api, {"order": "43"})]
    api.cluster.start("triggerer2", "triggerer")
    sent.append(_xadd(api, {"order": "44"}))
    # pending entries are read before new ones: a second event of 43 would come before 44's
    wait_until(
        lambda: len(_stream_events(api, token, watched["id"])) >= before + 2, 30, "the events"
    )
    events = _stream_events(api, token, watched["id"])[before:]
    assert [e["extra"]["payload"]["id"] for e in events] == sent


def test_asset_events_are_on_the_event_stream(assets_api: tuple[Api, str]) -> None:
    api, token = assets_api
    orders = _asset(api, token, "orders")
    request = urllib.request.Request(f"{api.url}/api/v2/events?kind=asset")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=20) as stream:
        assert stream.readline().startswith(b": connected")
        api.call("POST", "/api/v2/assets/events", {"asset_id": orders["id"]}, token=token)
        lines = []
        while not any(line.startswith(b"data: ") for line in lines):
            lines.append(stream.readline())
    assert b"event: asset\n" in lines
    data = json.loads(next(line for line in lines if line.startswith(b"data: "))[6:])
    assert (data["kind"], data["asset_id"], data["name"]) == ("asset", orders["id"], "orders")
    assert data["source_dag_id"] is None
