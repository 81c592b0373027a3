"""Deadline alerts (Airflow 3.1's ``DAG(deadline=...)``) on real processes: the coordinator
works out each run's deadlines, reports the ones that pass before the run succeeded, and the
callbacks role calls the alert's callback with Airflow's simple context. DAGs:
tests/dags/deadlines/deadlines.py."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from airlane.engine.deadlines import entry
from airlane.queue.events_protocol import CallbackEvent, DeadlineMissedEvent, decode_event
from airlane.service.execution.deadline_callback import deadline_id
from tests.conftest import TEST_DAGS
from tests.integration.cluster import SECRET, USERS, Api, Cluster, RedisServer, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def nodes(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the module: each test has DAGs of its own (and their gates)."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    cluster = Cluster(
        redis_server.url,
        TEST_DAGS / "deadlines",
        tmp_path_factory.mktemp("deadlines"),
        AIRLANE_CALLBACK_TIMEOUT_S="30",
        AIRLANE_CALLBACK_MAX_TRIES="2",
        AIRLANE_CALLBACK_RETRY_DELAY_S="0.1",
        AIRLANE_API_USERS=USERS,
        AIRLANE_API_SECRET=SECRET,
    )
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker", "worker", "--concurrency", "8", "--grace", "1")
    cluster.start("callbacks", "callbacks")
    cluster.wait_for_dags("dl_missed", "dl_met", "dl_fixed", "dl_average", "dl_failed")
    yield cluster
    cluster.stop_all()


def release(nodes: Cluster, dag_id: str) -> None:
    (nodes.markers / f"release.{dag_id}").touch()


def events_of(nodes: Cluster, run_id: str) -> list[Any]:
    client = nodes.redis()
    entries = client.xrange(nodes.keys.events)
    client.close()
    found = [decode_event(fields) for _, fields in entries]  # type: ignore[union-attr]
    return [e for e in found if getattr(e, "run_id", None) == run_id]


def deadline_callbacks(nodes: Cluster, run_id: str) -> list[CallbackEvent]:
    return [
        e
        for e in events_of(nodes, run_id)
        if isinstance(e, CallbackEvent) and e.callback == "deadline_alert"
    ]


def lines(nodes: Cluster, name: str, dag_id: str | None = None) -> list[str]:
    """The callback lines in a marker file (of one DAG's runs: JSON lines name theirs)."""
    path = nodes.markers / name
    found = path.read_text().splitlines() if path.exists() else []
    return [line for line in found if dag_id is None or f'"dag_id": "{dag_id}"' in line]


def deadlines_of(nodes: Cluster, dag_id: str, run_id: str, alerts: int) -> list[float | None]:
    client = nodes.redis()
    scores = [client.zscore(nodes.keys.deadlines, entry(dag_id, run_id, i)) for i in range(alerts)]
    client.close()
    return scores  # type: ignore[return-value]


def test_a_run_past_its_deadline_calls_the_callback_once(nodes: Cluster) -> None:
    run_id = nodes.trigger("dl_missed")
    held = nodes.trigger("dl_missed")  # queued behind the first (max_active_runs=1)
    wait_until(lambda: len(lines(nodes, "missed.lines")) == 2, 30, "both deadline callbacks")
    found = {line["run_id"]: line for line in map(json.loads, lines(nodes, "missed.lines"))}
    line = found[run_id]
    assert line["label"] == "one second"
    assert (line["dag_id"], line["state"]) == ("dl_missed", "running")
    assert found[held]["state"] == "queued"
    assert line["deadline_id"] == deadline_id("dl_missed", run_id, 0)
    client = nodes.redis()
    queued_at = float(client.hget(nodes.keys.run("dl_missed", run_id), "queued_at"))  # type: ignore[arg-type]
    client.close()
    assert line["deadline_time"] == pytest.approx(queued_at + 1.0, abs=0.01)
    missed = [e for e in events_of(nodes, run_id) if isinstance(e, DeadlineMissedEvent)]
    assert [(e.alert_index, round(e.deadline_s, 2)) for e in missed] == [
        (0, round(queued_at + 1.0, 2))
    ]
    wait_until(lambda: deadline_callbacks(nodes, run_id), 30, "the callback's event")
    assert [e.outcome.value for e in deadline_callbacks(nodes, run_id)] == ["done"]
    # the runs succeed after their deadline; restarted services report nothing again
    release(nodes, "dl_missed")
    assert nodes.wait_run("dl_missed", run_id)["state"] == "success"
    assert nodes.wait_run("dl_missed", held)["state"] == "success"
    nodes.signal("coordinator", signal.SIGKILL)
    nodes.start("coordinator", "coordinator")
    nodes.wait_for_beats()
    assert deadlines_of(nodes, "dl_missed", run_id, 1) == [None]
    assert len(lines(nodes, "missed.lines", "dl_missed")) == 2


def test_a_failed_run_keeps_its_deadline(nodes: Cluster) -> None:
    run_id = nodes.trigger("dl_failed")
    assert nodes.wait_run("dl_failed", run_id)["state"] == "failed"
    # as in Airflow, only a success drops a deadline: the failed run's is reported
    wait_until(lambda: lines(nodes, "missed.lines", "dl_failed"), 30, "the failed run's callback")
    (line,) = [json.loads(text) for text in lines(nodes, "missed.lines", "dl_failed")]
    assert (line["label"], line["run_id"], line["state"]) == ("failed", run_id, "failed")


def test_a_run_that_succeeds_in_time_drops_its_deadline(nodes: Cluster) -> None:
    release(nodes, "dl_met")
    run_id = nodes.trigger("dl_met")
    assert nodes.wait_run("dl_met", run_id)["state"] == "success"
    wait_until(
        lambda: deadlines_of(nodes, "dl_met", run_id, 1) == [None], 10, "the deadline dropped"
    )
    client = nodes.redis()
    kept = client.hget(nodes.keys.run("dl_met", run_id), "deadline:0")
    client.close()
    assert kept is None  # a met deadline goes, as Airflow deletes its row
    assert not lines(nodes, "missed.lines", "dl_met")
    assert not [e for e in events_of(nodes, run_id) if isinstance(e, DeadlineMissedEvent)]


def test_sync_callbacks_a_fixed_deadline_and_one_not_reached(nodes: Cluster) -> None:
    run_id = nodes.trigger("dl_fixed")
    wait_until(lambda: lines(nodes, "sync.lines"), 30, "the sync deadline callback")
    assert lines(nodes, "sync.lines") == [f"fixed {run_id}"]
    first, second = deadlines_of(nodes, "dl_fixed", run_id, 2)
    assert first is None  # reported
    assert second is not None  # the logical date's, an hour ahead
    api = Api.start(nodes)
    token = api.token()
    status, body = api.call("GET", f"/api/v2/dags/dl_fixed/dagRuns/{run_id}/deadlines", token=token)
    assert status == 200, body
    shown = [(d["deadline_time"], d["missed"], d["alert_name"]) for d in body["deadlines"]]
    assert shown[0] == ("2025-01-01T01:00:00Z", True, "long gone")
    assert shown[1][1:] == (False, None)
    assert body["total_entries"] == 2
    status, body = api.call("GET", "/api/v2/dags/dl_fixed/deadlineAlerts", token=token)
    assert status == 200, body
    assert [(a["name"], a["reference_type"], a["interval"]) for a in body["deadline_alerts"]] == [
        ("long gone", "FixedDatetimeDeadline", 3600.0),
        (None, "DagRunLogicalDateDeadline", 3600.0),
    ]
    status, body = api.call("GET", "/api/v2/dags/dl_fixed/dagRuns/nope/deadlines", token=token)
    assert status == 404, body
    release(nodes, "dl_fixed")
    assert nodes.wait_run("dl_fixed", run_id)["state"] == "success"
    wait_until(
        lambda: deadlines_of(nodes, "dl_fixed", run_id, 2) == [None, None],
        10,
        "the met deadline dropped",
    )
    assert lines(nodes, "sync.lines") == [f"fixed {run_id}"]
    status, body = api.call("GET", f"/api/v2/dags/dl_fixed/dagRuns/{run_id}/deadlines", token=token)
    assert [(d["alert_name"], d["missed"]) for d in body["deadlines"]] == [("long gone", True)]


def test_an_average_runtime_deadline_counts_the_dags_last_runs(nodes: Cluster) -> None:
    release(nodes, "dl_average")
    first = nodes.trigger("dl_average")
    assert nodes.wait_run("dl_average", first)["state"] == "success"
    assert deadlines_of(nodes, "dl_average", first, 1) == [None]  # no run to average yet
    (nodes.markers / "release.dl_average").unlink()
    second = nodes.trigger("dl_average")
    wait_until(
        lambda: lines(nodes, "missed.lines", "dl_average"), 30, "the average deadline's callback"
    )
    (line,) = [json.loads(text) for text in lines(nodes, "missed.lines", "dl_average")]
    assert (line["label"], line["run_id"], line["state"]) == ("average", second, "running")
    client = nodes.redis()
    run = client.hgetall(nodes.keys.run("dl_average", first))
    due = float(client.hget(nodes.keys.run("dl_average", second), "deadline:0"))  # type: ignore[arg-type]
    queued_at = float(client.hget(nodes.keys.run("dl_average", second), "queued_at"))  # type: ignore[arg-type]
    client.close()
    took_s = float(run["end_date"]) - float(run["start_date"])  # type: ignore[index]
    assert due == pytest.approx(queued_at + took_s, abs=0.001)
    release(nodes, "dl_average")
    assert nodes.wait_run("dl_average", second)["state"] == "success"
