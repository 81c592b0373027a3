"""Tries that end where their trigger fired, on real processes (a coordinator, one worker, a
triggerer): a deferrable TimeDeltaSensor's resume (``execute_complete`` only returns) and an
``end_from_trigger`` sensor's end event end the task without a worker; a sensor with a success
callback resumes on a worker, which runs the callback (an ended one's too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(120)

DAG_ID = "ends_where_fired"
_DAG = """
import os
from datetime import timedelta
from pathlib import Path

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG

MARKERS = Path(os.environ["AIRLANE_TEST_MARKERS"])


def called_back(context):
    (MARKERS / f"{context['run_id']}.{context['ti'].task_id}").write_text("success")


def before(context):
    pass


with DAG("ends_where_fired", schedule=None):
    wait = timedelta(seconds=3)
    TimeDeltaSensor(task_id="plain", delta=wait, deferrable=True)
    TimeDeltaSensor(task_id="called_back", delta=wait, deferrable=True,
                    on_success_callback=called_back)
    TimeDeltaSensor(task_id="ended", delta=wait, deferrable=True, end_from_trigger=True,
                    pre_execute=before)
    TimeDeltaSensor(task_id="ended_called_back", delta=wait, deferrable=True,
                    end_from_trigger=True, on_success_callback=called_back)
"""


@pytest.fixture(scope="module")
def cluster(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("deferral_ends_here")
    folder = work / "dags"
    folder.mkdir()
    (folder / f"{DAG_ID}.py").write_text(_DAG)
    nodes = Cluster(redis_server.url, folder, work, AIRLANE_TRIGGERER_POLL_S="0.05")
    nodes.start("dag-processor", "dag-processor")
    nodes.start("coordinator", "coordinator")
    nodes.start("worker0", "worker", "--concurrency", "4")
    nodes.start("triggerer", "triggerer")
    nodes.wait_for_dags(DAG_ID)
    yield nodes
    nodes.stop_all()


def _log(cluster: Cluster, run_id: str, task_id: str) -> str:
    client = cluster.redis()
    key = cluster.keys.log(DAG_ID, run_id, task_id, -1, 1)
    lines = [fields["line"] for _, fields in client.xrange(key)]
    client.close()
    return "\n".join(lines)


def test_tries_end_where_their_trigger_fired_unless_their_task_has_more_to_run(
    cluster: Cluster,
) -> None:
    run_id = cluster.trigger(DAG_ID)
    summary = cluster.wait_run(DAG_ID, run_id, timeout_s=60)
    assert summary["state"] == "success"
    for task_id in ("plain", "called_back", "ended", "ended_called_back"):
        assert summary["tasks"][task_id] == {"state": "success", "try_number": 1}
        assert "Pausing task as DEFERRED" in _log(cluster, run_id, task_id)
    # ended without a worker: one start on a worker, none resumed
    assert "resumed by its trigger" not in _log(cluster, run_id, "plain")
    assert "resumed by its trigger" not in _log(cluster, run_id, "ended")
    # its callback is user code: the try resumed on a worker, which ran it
    assert "resumed by its trigger" in _log(cluster, run_id, "called_back")
    assert (cluster.markers / f"{run_id}.called_back").read_text() == "success"
    # ended by its trigger with a callback: on a worker, which runs it as Airflow's DAG
    # processor does
    ended_log = _log(cluster, run_id, "ended_called_back")
    assert "Trigger ended the task: success" in ended_log
    assert (cluster.markers / f"{run_id}.ended_called_back").read_text() == "success"
    # the end dates are the trigger's moment's (the logical date plus the sensor's delta),
    # not the deferral's; under load a try may start a second or more after the logical date,
    # so the start is only known to come before that moment
    client = cluster.redis()
    logical = client.hget(cluster.keys.run(DAG_ID, run_id), "logical_date")
    client.close()
    moment_s = datetime.fromisoformat(str(logical)).timestamp() + 3.0
    tis = cluster.task_instances(DAG_ID, run_id)
    plain = tis[("plain", -1)][1]
    assert plain.end_date is not None
    assert plain.start_date is not None
    assert float(plain.start_date) < moment_s <= float(plain.end_date) + 0.001
    # resumed on a worker (its callback): its start is still its first run's (Airflow's
    # ti_run leaves a resuming task's start_date alone), not the resume's
    resumed = tis[("called_back", -1)][1]
    assert float(resumed.start_date) < moment_s <= float(resumed.end_date) + 0.001
