"""Run ids that Airflow refuses never become runs, and the coordinator survives any malformed
record (issue 13, items 1 and 9). One cluster for the module: the coordinator that takes every
blow below is the same process throughout."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from airlane.queue.keys import COORDINATOR_GROUP
from airlane.queue.protocol import InvalidRunId
from airlane.queue.store import RunRequest
from airlane.sdk.timezone import utcnow
from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import Api, Cluster, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("run_ids")
    shutil.copytree(TEST_DAGS / "run_ids", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=1, concurrency=4) as api:
        api.cluster.wait_for_dags("gated", "bad_run_id", "quick")
        yield api


def _coordinator(cluster: Cluster) -> subprocess.Popen[bytes]:
    proc = cluster.procs["coordinator"]
    if proc.poll() is not None:
        raise AssertionError(f"the coordinator exited:\n{cluster.logs('coordinator')[-3000:]}")
    return proc


def _beats_after(cluster: Cluster, since_s: float) -> bool:
    """The live coordinator wrote its heartbeat after ``since_s``."""
    _coordinator(cluster)
    client = cluster.redis()
    beat = client.get(cluster.keys.coordinator_beat)
    client.close()
    return beat is not None and float(beat) > since_s


def _ids(entry_id: str) -> tuple[int, int]:
    millis, seq = entry_id.split("-")
    return int(millis), int(seq)


def _all_acked(cluster: Cluster, stream: str, last_id: str) -> bool:
    """The coordinator read every entry of ``stream`` up to ``last_id`` and acknowledged it."""
    _coordinator(cluster)
    client = cluster.redis()
    groups = client.xinfo_groups(stream)
    client.close()
    group = next(g for g in groups if g["name"] == COORDINATOR_GROUP)
    delivered = _ids(group["last-delivered-id"]) >= _ids(last_id)
    return delivered and group["pending"] == 0


def _quick_run_succeeds(cluster: Cluster) -> None:
    run_id = cluster.trigger("quick")
    assert cluster.wait_run("quick", run_id)["state"] == "success"


def test_a_trigger_with_a_refused_run_id_fails_its_task_not_the_coordinator(api: Api) -> None:
    cluster = api.cluster
    coordinator = _coordinator(cluster)
    run_id = cluster.trigger("bad_run_id")
    summary = cluster.wait_run("bad_run_id", run_id)
    assert summary["tasks"]["trigger"] == {"state": "failed", "try_number": 1}
    log = "\n".join(cluster.log_lines("bad_run_id", run_id, "trigger", 1))
    assert "TriggerDagRunOperator: run id 'a|b' may use only ASCII letters" in log
    assert cluster.run_state("gated", "a|b") is None
    since = time.time()
    wait_until(lambda: _beats_after(cluster, since), 15, "a coordinator heartbeat")
    _quick_run_succeeds(cluster)
    assert _coordinator(cluster).pid == coordinator.pid


def test_every_way_of_creating_a_run_checks_its_id(api: Api) -> None:
    """Store.create_run itself refuses (the scheduler, backfills and the operator use it)."""
    when = utcnow()
    for run_id in ("a|b", "é", "~", "x" * 251):
        request = RunRequest("quick", run_id, when, when, when, {})
        with pytest.raises(InvalidRunId, match="run id"):
            api.cluster.call(lambda store, r=request: store.create_run(r))
        assert api.cluster.run_state("quick", run_id) is None


def test_the_api_answers_422_naming_dag_run_id(api: Api) -> None:
    token = api.token()
    for run_id in ("é", "~", "a|b", "a" * 251):
        status, body = api.call(
            "POST", "/api/v2/dags/quick/dagRuns", {"dag_run_id": run_id}, token=token
        )
        assert status == 422, (run_id, status, body)
        assert body["detail"][0]["loc"] == ["body", "dag_run_id"], body
        assert "dag_run_id" in body["detail"][0]["msg"]
    status, body = api.call(
        "POST", "/api/v2/dags/quick/dagRuns", {"dag_run_id": "~ok:1+2." + "a" * 242}, token=token
    )
    assert status == 200, body


def test_the_coordinator_logs_and_skips_malformed_records(api: Api) -> None:
    cluster = api.cluster
    coordinator = _coordinator(cluster)
    keys = cluster.keys
    run_id = cluster.trigger("gated")
    wait_until(
        lambda: _state(cluster, "gated", run_id, "wait") == "running",
        30,
        "the gated task to run",
    )
    run = f"gated|{run_id}"
    now = time.time()
    client = cluster.redis()
    # Heartbeat records: not JSON, the wrong shape, and a fresh one listing malformed refs.
    bad_refs = ["a|b|c", "[1, 2]", json.dumps(["q", "1-0", "gated", run_id, "wait", -1, True])]
    client.hset(
        keys.workers,
        mapping={
            "ghost-json": "not json",
            "ghost-shape": json.dumps({"running": "x", "heartbeat_at": now}),
            "ghost-refs": json.dumps({"running": bad_refs, "heartbeat_at": now}),
        },
    )
    # A dead worker whose claimed tries are malformed: the next check reaps it.
    client.sadd(keys.worker_tasks("ghost-dead"), "garbage", f"q|1-0|{run}|wait|-1|1", "[]")
    client.zadd(keys.worker_beats, {"ghost-dead": now - 3600})
    client.hset(keys.pools, "ghost_pool", "not json")
    client.hset(keys.backfills, "999999", json.dumps({"id": 999999, "unknown": "field"}))
    completions = [
        {"kind": "finished"},
        {"kind": "bogus", "run": run, "ti": "wait|-1", "try": "1"},
        {"kind": "finished", "run": run, "ti": "wait|-1", "try": "1", "outcome": "not json"},
        {"kind": "started", "run": run, "ti": "nope|-1", "try": "1", "worker": "w", "at": "1"},
        {"kind": "started", "run": run, "ti": "wait|-1", "try": "1", "worker": "w", "at": "x"},
        {"kind": "released", "run": run, "ti": "wait", "try": "1"},
    ]
    commands = [
        {"nothing": "here"},
        {"type": "nonsense"},
        {"type": "dag_updated", "dag_id": "gated"},
        {"type": "clear", "run": run, "task_ids": "not json"},
        {"type": "mark", "run": run, "ti": "nope|-1", "state": "success"},
        {"type": "mark", "run": run, "ti": "wait|-1", "state": "bogus"},
        {"type": "pools"},
        {"type": "backfill", "id": "999999"},
    ]
    last_completion = [client.xadd(keys.completions, f) for f in completions][-1]  # type: ignore[arg-type]
    last_command = [client.xadd(keys.commands, f) for f in commands][-1]  # type: ignore[arg-type]
    wait_until(
        lambda: (
            _all_acked(cluster, keys.completions, str(last_completion))
            and _all_acked(cluster, keys.commands, str(last_command))
        ),
        30,
        "the coordinator to read and acknowledge every forged entry",
    )
    wait_until(
        lambda: _coordinator(cluster) and client.zscore(keys.worker_beats, "ghost-dead") is None,
        30,
        "the dead ghost worker to be reaped",
    )
    since = time.time()
    wait_until(lambda: _beats_after(cluster, since), 15, "a coordinator heartbeat")
    client.hdel(keys.workers, "ghost-json", "ghost-shape", "ghost-refs")
    client.hdel(keys.pools, "ghost_pool")
    client.hdel(keys.backfills, "999999")
    client.close()

    assert cluster.task_instances("gated", run_id)[("wait", -1)][0].state.value == "running"
    (cluster.markers / f"{run_id}.go").touch()
    summary = cluster.wait_run("gated", run_id)
    assert summary["state"] == "success", summary
    assert summary["tasks"]["wait"] == {"state": "success", "try_number": 1}
    _quick_run_succeeds(cluster)
    assert _coordinator(cluster).pid == coordinator.pid
    logged = cluster.logs("coordinator")
    for what in (
        "skipping a malformed completion",
        "skipping a malformed command",
        "skipping a malformed worker ghost-json record",
        "skipping a malformed ref of worker ghost-refs",
        "skipping a malformed ref of worker ghost-dead",
        "skipping a malformed pool",
        "skipping a malformed backfill",
        "skipping a completion for unknown task nope|-1",
        "skipping a mark of",
    ):
        assert what in logged, what


def test_dags_test_and_trigger_refuse_the_run_id_before_anything_runs() -> None:
    folder = str(TEST_DAGS / "run_ids")
    result = run_cli("dags", "test", "quick", "--run-id", "a|b", "--dags-folder", folder)
    assert result.code == 2, result
    assert "--run-id: 'a|b' may use only ASCII letters" in result.stderr
    # No Redis listens there: the id is refused before a connection is tried.
    unreachable = {"AIRLANE_REDIS_URL": "redis://127.0.0.1:1/0"}
    result = run_cli("dags", "trigger", "quick", "--run-id", "~", env=unreachable)
    assert result.code == 2, result
    assert "wildcard" in result.stderr


def _state(cluster: Cluster, dag_id: str, run_id: str, task_id: str) -> str | None:
    """The instance's state, None until the coordinator has expanded the run."""
    found = cluster.task_instances(dag_id, run_id).get((task_id, -1))
    return found[0].state.value if found is not None else None
