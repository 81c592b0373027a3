"""DAG-level callbacks delivered by the callbacks role (arq), with real processes.

Delivery is at least once, deduplicated by job id: a callback that completed is never called
again (not by a coordinator or a callbacks role restarted after it), and one whose callbacks
role was killed mid-call is called again by the restarted role.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlane.queue.events_protocol import CallbackEvent, decode_event
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.redis


@pytest.fixture
def nodes(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(
        clean_redis.url,
        TEST_DAGS / "callbacks",
        tmp_path,
        AIRLANE_CALLBACK_TIMEOUT_S="30",
        AIRLANE_CALLBACK_MAX_TRIES="2",
        AIRLANE_CALLBACK_RETRY_DELAY_S="0.1",
    )
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker", "worker", "--concurrency", "4", "--grace", "1")
    cluster.start("callbacks", "callbacks")
    cluster.wait_for_dags("cb_fail", "cb_success", "cb_block", "cb_raise")
    yield cluster
    cluster.stop_all()


def callback_events(nodes: Cluster, run_id: str) -> list[CallbackEvent]:
    client = nodes.redis()
    entries = client.xrange(nodes.keys.events)
    client.close()
    events = [decode_event(fields) for _, fields in entries]  # type: ignore[union-attr]
    return [e for e in events if isinstance(e, CallbackEvent) and e.run_id == run_id]


def wait_callback(nodes: Cluster, run_id: str, timeout_s: float = 30) -> CallbackEvent:
    found: list[CallbackEvent] = []

    def reported() -> bool:
        found[:] = callback_events(nodes, run_id)
        return bool(found)

    wait_until(reported, timeout_s, f"the callback event of {run_id}", interval_s=0.05)
    return found[0]


def lines(nodes: Cluster, name: str) -> list[str]:
    path = nodes.markers / name
    return path.read_text().splitlines() if path.exists() else []


def test_a_failed_run_fires_its_failure_callback_once_and_a_success_its_list(
    nodes: Cluster,
) -> None:
    failed = nodes.trigger("cb_fail")
    succeeded = nodes.trigger("cb_success")
    raising = nodes.trigger("cb_raise")
    assert nodes.wait_run("cb_fail", failed)["state"] == "failed"
    assert nodes.wait_run("cb_success", succeeded)["state"] == "success"
    event = wait_callback(nodes, failed)
    assert (event.callback, event.outcome.value, event.tries) == ("on_failure_callback", "done", 1)
    # Airflow's context: the run's last instance by task id, and the reason
    assert lines(nodes, "fail.lines") == [f"task_failure {failed} c_after"]
    assert wait_callback(nodes, succeeded).outcome.value == "done"
    assert lines(nodes, "ok1.lines") == [f"success {succeeded} only"]
    assert lines(nodes, "ok2.lines") == [f"success {succeeded} only"]
    assert lines(nodes, "never.lines") == []
    # a callback that keeps raising: retried, then reported failed with its error
    event = wait_callback(nodes, raising)
    assert (event.outcome.value, event.tries) == ("failed", 2)
    assert "RuntimeError: the receiver is down" in event.error
    assert lines(nodes, "raising.tries") == ["try", "try"]
    # the callback before it in the list returned on the first try: it is not called again
    assert lines(nodes, "before_raising.lines") == [f"task_failure {raising} c_after"]
    assert "failed after 2 tries" in nodes.logs("callbacks")
    # restarted coordinator and callbacks role: nothing is delivered again
    nodes.signal("coordinator", signal.SIGKILL)
    nodes.signal("callbacks", signal.SIGKILL)
    nodes.start("coordinator", "coordinator")
    nodes.start("callbacks", "callbacks")
    again = nodes.trigger("cb_success")
    wait_callback(nodes, again)  # both are up and delivering
    assert lines(nodes, "fail.lines") == [f"task_failure {failed} c_after"]
    assert len(callback_events(nodes, failed)) == 1
    assert len(lines(nodes, "ok1.lines")) == 2


def test_a_callbacks_role_killed_mid_delivery_delivers_it_after_its_restart(
    nodes: Cluster,
) -> None:
    run_id = nodes.trigger("cb_block")
    started = nodes.markers / "blocking.started"
    wait_until(started.exists, 30, "the callback to start")
    nodes.signal("callbacks", signal.SIGKILL)  # its child process dies with it
    nodes.start("callbacks", "callbacks")
    # the job was cut short: arq runs it again once its in-progress mark expires
    wait_until(lambda: len(lines(nodes, "blocking.started")) == 2, 30, "the second try")
    (nodes.markers / "release").touch()
    event = wait_callback(nodes, run_id)
    assert (event.outcome.value, event.tries) == ("done", 2)
    assert lines(nodes, "blocking.lines") == [f"task_failure {run_id} c_after"]
    assert len(callback_events(nodes, run_id)) == 1
