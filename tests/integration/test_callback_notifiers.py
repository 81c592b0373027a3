"""Task callbacks of tries that died with their worker, and notifiers, delivered by the
callbacks role (arq) with real processes: each fires once, through kills of the worker, the
coordinator and the callbacks role itself (SIGKILL mid-delivery)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until
from tests.integration.test_dag_callbacks import callback_events, lines, wait_callback
from tests.integration.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]
SECRET = "s3cr3t-hunter2"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def nodes(clean_redis: RedisServer, tmp_path: Path, receiver: WebhookReceiver) -> Iterator[Cluster]:
    cluster = Cluster(
        clean_redis.url,
        TEST_DAGS / "callbacks",
        tmp_path,
        AIRLANE_CALLBACK_TIMEOUT_S="30",
        AIRLANE_CALLBACK_MAX_TRIES="2",
        AIRLANE_CALLBACK_RETRY_DELAY_S="0.1",
        AIRLANE_TEST_WEBHOOK_URL=receiver.url,
        AIRFLOW_CONN_NOTIFY_SECRET=json.dumps(
            {"conn_type": "http", "host": "h", "password": SECRET}
        ),
    )
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker", "worker", "--concurrency", "4", "--grace", "1")
    cluster.start("callbacks", "callbacks")
    cluster.wait_for_dags("cb_dead_try", "cb_notify", "cb_notify_down", "cb_leaky")
    yield cluster
    cluster.stop_all()


def test_the_callbacks_of_tries_killed_with_their_worker_fire_once(
    nodes: Cluster, receiver: WebhookReceiver
) -> None:
    run_id = nodes.trigger("cb_dead_try")
    started = nodes.markers / "stuck.started"
    wait_until(lambda: len(lines(nodes, "stuck.started")) == 2, 30, "both tries to start")
    nodes.signal("worker", signal.SIGKILL)  # the tries' processes die with it
    nodes.start("worker", "worker", "--concurrency", "4", "--grace", "1")
    summary = nodes.wait_run("cb_dead_try", run_id)
    assert summary["state"] == "failed"
    assert summary["tasks"]["retrying"] == {"state": "success", "try_number": 2}
    assert summary["tasks"]["failing"]["state"] == "failed"
    wait_until(lambda: len(callback_events(nodes, run_id)) == 2, 30, "both callback events")
    # Airflow's TaskCallbackRequest: on_retry_callback when the try will be retried, else
    # on_failure_callback, with the dead try's context (no exception, no reason)
    assert lines(nodes, "dead_retry.lines") == [f"{run_id} retrying -1 1 1"]
    assert lines(nodes, "dead_failure.lines") == [f"{run_id} failing -1 1 0"]
    assert lines(nodes, "dead_failure_of_retrying.lines") == []
    assert lines(nodes, "dead_retry_of_failing.lines") == []
    events = {(e.task_id, e.callback, e.outcome.value) for e in callback_events(nodes, run_id)}
    assert events == {
        ("retrying", "on_retry_callback", "done"),
        ("failing", "on_failure_callback", "done"),
    }
    # the notifier in the task's callback list: one POST about the dead try
    (post,) = receiver.posts()
    assert (post.body["task_id"], post.body["try_number"]) == ("failing", 1)
    assert started.read_text().splitlines().count("retrying 2") == 1
    # restarted coordinator and callbacks role: nothing is delivered again
    nodes.signal("coordinator", signal.SIGKILL)
    nodes.signal("callbacks", signal.SIGKILL)
    nodes.start("coordinator", "coordinator")
    nodes.start("callbacks", "callbacks")
    again = nodes.trigger("cb_notify")
    (nodes.markers / "release").touch()
    wait_callback(nodes, again)  # both are up and delivering
    assert len(lines(nodes, "dead_retry.lines")) == 1
    assert len(lines(nodes, "dead_failure.lines")) == 1
    assert len(callback_events(nodes, run_id)) == 2
    assert [p.body.get("task_id") for p in receiver.posts()].count("failing") == 1


def test_a_dag_callback_and_its_notifier_fire_once_through_a_sigkill_mid_delivery(
    nodes: Cluster, receiver: WebhookReceiver
) -> None:
    run_id = nodes.trigger("cb_notify")
    # the list is [record, webhook notifier, blocking]: killed while the third blocks
    wait_until((nodes.markers / "dn_blocking.started").exists, 30, "the third callback")
    nodes.signal("callbacks", signal.SIGKILL)  # its child process dies with it
    nodes.start("callbacks", "callbacks")
    # delivered while the cut job waits for its in-progress mark to expire (no kill after)
    refused = nodes.trigger("cb_notify_down")
    leaky = nodes.trigger("cb_leaky")
    wait_until(lambda: len(lines(nodes, "dn_blocking.started")) == 2, 30, "the second try")
    (nodes.markers / "release").touch()
    event = wait_callback(nodes, run_id)
    assert (event.callback, event.outcome.value, event.tries) == ("on_failure_callback", "done", 2)
    # the two that returned before the kill are not called again
    assert lines(nodes, "dn_first.lines") == [f"task_failure {run_id}"]
    (post,) = [p for p in receiver.posts() if p.path == "/hook"]
    assert post.headers["X-Run"] == run_id  # a template field, rendered with the context
    assert post.headers["Idempotency-Key"]
    assert (post.body["dag_id"], post.body["run_id"]) == ("cb_notify", run_id)
    assert (post.body["reason"], post.body["task_id"]) == ("task_failure", "fails")
    assert lines(nodes, "dn_blocking.lines") == [run_id]
    assert len(callback_events(nodes, run_id)) == 1
    # a notifier whose receiver refuses it: retried, then failed in the run's events and logs
    event = wait_callback(nodes, refused)
    assert (event.outcome.value, event.tries) == ("failed", 2)
    assert "WebhookNotifier failed: WebhookError:" in event.error
    assert "answered 500: the receiver is down" in event.error
    assert [p.path for p in receiver.posts()].count("/T0K3N/down") == 2
    assert "T0K3N" not in event.error  # the URL's path may be its token: not in errors
    # a connection's password in a callback's error and log: masked in the event and the log
    event = wait_callback(nodes, leaky)
    assert "RuntimeError: h refused ***" in event.error
    logs = nodes.logs("callbacks")
    assert "cannot log in with ***" in logs
    assert SECRET not in logs
    assert "Failed to send notification (sync)" in logs
    assert "T0K3N" not in logs
    assert f"{refused}|on_failure_callback" in logs
