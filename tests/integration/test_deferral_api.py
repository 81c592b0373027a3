"""The deferred state outside the engine, on real processes (API, coordinator, a worker, a
triggerer): the API's ``state=deferred`` filter and trigger fields, the run's event stream,
``/metrics`` and the health check; and ExternalTaskSensor(deferrable=True) reading another
DAG's run from the triggerer."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from airlane.queue.events_protocol import TIEvent, decode_event
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)

DATE_TIME_TRIGGER = "airflow.providers.standard.triggers.temporal.DateTimeTrigger"


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("deferral_api")
    shutil.copytree(TEST_DAGS / "deferral_api", work / "dags")
    with api_cluster(
        redis_server, work, work / "dags", workers=1, AIRLANE_TRIGGERER_POLL_S="0.05"
    ) as api:
        api.cluster.start("triggerer", "triggerer")
        api.cluster.wait_for_dags("deferred_hour", "upstream_dag", "waits_on_upstream")
        yield api


def _metrics(api: Api, token: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(
        api.url + "/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _deferred(api: Api, token: str, run_id: str) -> list[dict[str, Any]]:
    path = f"/api/v2/dags/deferred_hour/dagRuns/{run_id}/taskInstances?state=deferred"
    status, body = api.call("GET", path, token=token)
    assert status == 200, body
    return list(body["task_instances"])


def test_a_deferred_task_shows_in_the_api_events_metrics_and_health(api: Api) -> None:
    token = api.token()
    run_id = api.cluster.trigger("deferred_hour")
    wait_until(lambda: bool(_deferred(api, token, run_id)), 60, "the sensor to defer")
    (item,) = _deferred(api, token, run_id)
    assert (item["task_id"], item["state"], item["try_number"]) == ("wait", "deferred", 1)
    assert item["trigger"]["classpath"] == DATE_TIME_TRIGGER
    assert isinstance(item["trigger"]["id"], int)
    across = "/api/v2/dags/~/dagRuns/~/taskInstances?state=deferred"
    assert [ti["task_id"] for ti in api.call("GET", across, token=token)[1]["task_instances"]] == [
        "wait"
    ]
    running = "/api/v2/dags/deferred_hour/dagRuns/~/taskInstances?state=running"
    assert api.call("GET", running, token=token)[1]["total_entries"] == 0

    def held() -> bool:
        samples = _metrics(api, token)
        return any(
            name == "airlane_triggers_running" and value >= 1
            for (name, _), value in samples.items()
        )

    wait_until(held, 30, "the triggerer to report its running trigger")
    samples = _metrics(api, token)
    assert samples[("airlane_triggerers", ())] == 1
    assert samples[("airlane_triggers", ())] >= 1
    path = f"/api/v2/dags/deferred_hour/dagRuns/{run_id}/taskInstances/wait"
    one = api.call("GET", path, token=token)
    assert one[1]["triggerer_job"]["job_type"] == "TriggererJob"
    health = api.call("GET", "/api/v2/monitor/health")[1]
    assert health["triggerer"]["status"] == "healthy"

    client = api.cluster.redis()
    entries = client.xrange(api.cluster.keys.events)
    client.close()
    states = [
        event.state.value
        for _, fields in entries
        if isinstance(event := decode_event(fields), TIEvent)
        and (event.run_id, event.task_id) == (run_id, "wait")
    ]
    assert "deferred" in states


def test_a_deferred_external_task_sensor_waits_for_the_other_dags_run(api: Api) -> None:
    when = "2025-03-01T00:00:00+00:00"
    waiter = api.cluster.trigger("waits_on_upstream", logical_date=when)

    def state() -> str | None:
        records = api.cluster.task_instances("waits_on_upstream", waiter)
        found = records.get(("wait_upstream", -1))
        return None if found is None else found[0].state.value  # None: not expanded yet

    wait_until(lambda: state() == "deferred", 60, "the sensor to defer")
    upstream = api.cluster.trigger("upstream_dag", logical_date=when)
    assert api.cluster.wait_run("upstream_dag", upstream)["state"] == "success"
    assert api.cluster.wait_run("waits_on_upstream", waiter)["state"] == "success"


def test_marking_a_run_failed_fails_its_deferred_task_as_airflow_does(api: Api) -> None:
    token = api.token()
    run_id = api.cluster.trigger("deferred_hour")
    wait_until(lambda: bool(_deferred(api, token, run_id)), 60, "the sensor to defer")
    path = f"/api/v2/dags/deferred_hour/dagRuns/{run_id}"
    status, body = api.call("PATCH", path, {"state": "failed"}, token=token)
    assert status == 200, body

    def wait_state() -> str:
        return str(api.cluster.task_instances("deferred_hour", run_id)[("wait", -1)][0].state)

    wait_until(lambda: wait_state() == "failed", 30, "the deferred task to be failed")
    client = api.cluster.redis()
    wait_until(
        lambda: run_id not in str(client.hkeys(api.cluster.keys.deferred)),
        30,
        "its deferral record to go",
    )
    client.close()


def _pool(api: Api, token: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    path = "/api/v2/pools" + ("" if method == "POST" else "/defer_one")
    status, found = api.call(method, path, body, token=token)
    assert status in (200, 201), found
    return dict(found)


def _ti_state(api: Api, dag_id: str, run_id: str, task_id: str) -> str | None:
    found = api.cluster.task_instances(dag_id, run_id).get((task_id, -1))
    return None if found is None else found[0].state.value


def test_a_pool_that_includes_deferred_keeps_the_deferred_tasks_slot(api: Api) -> None:
    """Airflow's Pool.include_deferred: a deferred instance holds its pool slot while it waits
    (true), or gives it back (false, the default; or turned off while it waits)."""
    token = api.token()
    api.cluster.wait_for_dags("pool_deferred", "pool_marker")
    created = _pool(api, token, "POST", {"name": "defer_one", "slots": 1, "include_deferred": True})
    assert created["include_deferred"] is True
    held = api.cluster.trigger("pool_deferred")
    wait_until(lambda: _ti_state(api, "pool_deferred", held, "wait") == "deferred", 60, "defer")
    # a later run's end: the coordinator went past the deferral (its completion came first)
    marker = api.cluster.trigger("pool_marker")
    assert api.cluster.wait_run("pool_marker", marker)["state"] == "success"
    assert _ti_state(api, "pool_deferred", held, "after") == "scheduled"
    figures = api.call("GET", "/api/v2/pools/defer_one", token=token)[1]
    assert (figures["deferred_slots"], figures["occupied_slots"], figures["open_slots"]) == (
        1,
        1,
        0,
    )
    assert figures["scheduled_slots"] == 1
    # turned off while the sensor waits: its slot goes to the task in line
    assert _pool(api, token, "PATCH", {"include_deferred": False})["include_deferred"] is False
    wait_until(lambda: _ti_state(api, "pool_deferred", held, "after") == "success", 60, "after")
    # off from the start: the second task runs while the sensor waits
    freed = api.cluster.trigger("pool_deferred")
    wait_until(lambda: _ti_state(api, "pool_deferred", freed, "after") == "success", 60, "after")
    assert _ti_state(api, "pool_deferred", freed, "wait") == "deferred"
    figures = api.call("GET", "/api/v2/pools/defer_one", token=token)[1]
    assert (figures["deferred_slots"], figures["occupied_slots"], figures["open_slots"]) == (
        2,
        0,
        1,
    )
