"""The fast path (engine/fast_path.py) with real processes, AIRLANE_FAST_PATH=1: a success queues
its ready successor in its finish script; limits hold, what it may not decide is left to the
coordinator, and SIGKILLs lose nothing and run nothing twice."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from airlane.engine.run_state import TaskOutcome
from airlane.queue import typed
from airlane.queue.connection import connect
from airlane.queue.groups import ensure_group
from airlane.queue.keys import WORKER_GROUP, run_ref
from airlane.queue.messages import TaskMessage
from airlane.queue.protocol import ClaimRef
from airlane.queue.scripts import Scripts
from airlane.sdk.state import TaskInstanceState
from airlane.service.worker.heartbeat import Heartbeat, WorkerIdentity
from airlane.service.worker.tries import FinishedTry, RunningTry, claim_call, finish_call
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(300)
#: a consumer group that never reads: the completions stay for these tests to look at
WITNESS = "fast_path_witness"


@pytest.fixture(scope="module")
def nodes(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("fast_path")
    shutil.copytree(TEST_DAGS / "fast_path", work / "dags")
    cluster = Cluster(redis_server.url, work / "dags", work, AIRLANE_FAST_PATH="1")
    client = cluster.redis()
    client.xgroup_create(cluster.keys.completions, WITNESS, id="$", mkstream=True)
    client.close()
    cluster.call(lambda store: store.set_pool("fp_one", 1))
    cluster.start_all(workers=2)
    cluster.wait_for_dags("fp_chain", "fp_pool", "fp_max_tasks", "fp_rule", "fp_mapped", "fp_long")
    yield cluster
    cluster.stop_all()


def _fast(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, str]:
    """Finished task -> the successor its finish script queued, for one run."""
    client = cluster.redis()
    entries = client.xrange(cluster.keys.completions)
    client.close()
    ref = run_ref(dag_id, run_id)
    return {
        fields["ti"].split("|")[0]: fields["fast"].split("|")[0]
        for _, fields in entries
        if fields.get("run") == ref and "fast" in fields
    }


def _spans(cluster: Cluster, run_id: str) -> list[tuple[str, int, float, float]]:
    lines = (cluster.markers / f"{run_id}.spans").read_text().splitlines()
    return [(t, int(n), float(a), float(b)) for t, n, a, b in (line.split() for line in lines)]


def _one_at_a_time(spans: list[tuple[str, int, float, float]]) -> bool:
    ordered = sorted(spans, key=lambda s: s[2])
    return all(a[3] <= b[2] for a, b in itertools.pairwise(ordered))


def test_a_chain_goes_by_the_fast_path(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_chain")
    summary = nodes.wait_run("fp_chain", run_id)
    assert summary["state"] == "success"
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())
    assert _fast(nodes, "fp_chain", run_id) == {f"s{i}": f"s{i + 1}" for i in range(5)}
    client = nodes.redis()
    assert not client.exists(nodes.keys.fast_plan("fp_chain", run_id))  # gone with the run
    client.close()


def test_a_pool_of_one_slot_runs_one_at_a_time(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_pool")
    assert nodes.wait_run("fp_pool", run_id, timeout_s=60)["state"] == "success"
    spans = _spans(nodes, run_id)
    assert sorted(s[0] for s in spans) == ["root", "x0", "x1", "x2", "x3"]
    assert _one_at_a_time(spans)
    assert list(_fast(nodes, "fp_pool", run_id)) == ["root"]  # one successor takes its slot


def test_max_active_tasks_holds(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_max_tasks")
    assert nodes.wait_run("fp_max_tasks", run_id, timeout_s=60)["state"] == "success"
    spans = _spans(nodes, run_id)
    assert len(spans) == 4
    assert _one_at_a_time(spans)


def test_one_success_is_left_to_the_coordinator(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_rule")
    summary = nodes.wait_run("fp_rule", run_id)
    assert summary["state"] == "success"
    assert summary["tasks"]["either"] == {"state": "success", "try_number": 1}
    assert _fast(nodes, "fp_rule", run_id) == {}


def test_a_mapped_successor_is_left_to_the_coordinator(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_mapped")
    summary = nodes.wait_run("fp_mapped", run_id)
    assert summary["state"] == "success"
    assert _fast(nodes, "fp_mapped", run_id) == {}


def _executions(nodes: Cluster, run_id: str) -> Counter[tuple[str, int]]:
    return Counter((t, n) for t, n, _, _ in _spans(nodes, run_id))


def _fast_count(nodes: Cluster, run_id: str) -> int:
    return len(_fast(nodes, "fp_long", run_id))


def test_a_worker_killed_after_a_fast_path_finish_loses_nothing(nodes: Cluster) -> None:
    """SIGKILL a worker as soon as a finish script queued a successor: the successor runs,
    once per try, and the run succeeds."""
    run_id = nodes.trigger("fp_long")
    wait_until(lambda: _fast_count(nodes, run_id) >= 3, 30, "fast-path finishes")
    nodes.signal("worker0", signal.SIGKILL)
    nodes.start("worker2", "worker", "--grace", "1")
    summary = nodes.wait_run("fp_long", run_id, timeout_s=90)
    assert summary["state"] == "success"
    runs = _executions(nodes, run_id)
    assert {t for t, _ in runs} == {f"s{i}" for i in range(30)}
    assert max(runs.values()) == 1  # no try ran twice


def test_a_coordinator_killed_during_fast_path_finishes_is_replaced(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_long")
    wait_until(lambda: _fast_count(nodes, run_id) >= 3, 30, "fast-path finishes")
    nodes.signal("coordinator", signal.SIGKILL)
    nodes.start("coordinator2", "coordinator")
    summary = nodes.wait_run("fp_long", run_id, timeout_s=90)
    assert summary["state"] == "success"
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())
    runs = _executions(nodes, run_id)
    assert max(runs.values()) == 1
    assert len(runs) == 30


# ---- the mini scheduler: the finishing worker runs the successor itself -------------------


def _started_on(nodes: Cluster, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
    """(task, try) -> the worker its ``started`` event names, for one run."""
    client = nodes.redis()
    entries = client.xrange(nodes.keys.completions)
    client.close()
    ref = run_ref(dag_id, run_id)
    return {
        (fields["ti"].split("|")[0], int(fields["try"])): fields["worker"]
        for _, fields in entries
        if fields.get("run") == ref and fields["kind"] == "started"
    }


def test_each_successor_runs_on_the_worker_that_ran_its_upstream(nodes: Cluster) -> None:
    run_id = nodes.trigger("fp_chain")
    assert nodes.wait_run("fp_chain", run_id)["state"] == "success"
    started = _started_on(nodes, "fp_chain", run_id)
    assert sorted(started) == [(f"s{i}", 1) for i in range(6)]
    assert len(set(started.values())) == 1


async def _finish_claiming_the_successor(nodes: Cluster, worker_id: str) -> str:
    """As a worker SIGKILLed right after its finish script: reads s0 of fp_mini, claims it and
    finishes it with run_here, its successor s1 claimed for it, and dies (no more heartbeats).
    Returns s1's encoded ClaimRef."""
    client = connect(nodes.redis_url)
    scripts = Scripts.register(client, nodes.keys)
    beat = Heartbeat(nodes.redis_url, nodes.keys, WorkerIdentity(worker_id, ("fp_mini",), 1), 1)
    stream = nodes.keys.queue("fp_mini")
    try:
        await asyncio.to_thread(beat.beat)
        await ensure_group(client, stream, WORKER_GROUP)
        read = await typed.xreadgroup(
            client, WORKER_GROUP, worker_id, {stream: ">"}, count=1, block=20_000
        )
        [(_, [(message_id, fields)])] = read
        message = TaskMessage.from_fields(fields)
        ref = ClaimRef(stream, message_id, "fp_mini", message.run_id, "s0", -1, 1).encode()
        item = RunningTry(stream, message_id, message, ref)
        assert await scripts.claim_many(claim_call(worker_id, [item], time.time())) == [True]
        done = FinishedTry(item, TaskOutcome(TaskInstanceState.SUCCESS, 1), [], [], False, "")
        call = finish_call(worker_id, [done], 60, fast_path=True, run_here=True)
        [delivery] = await scripts.finish_many(call)
        assert delivery is not None
        assert delivery.claimed
        return delivery.ref
    finally:
        beat.client.close()
        await client.aclose()


def test_a_worker_killed_between_its_finish_and_the_successor_start_loses_nothing(
    nodes: Cluster,
) -> None:
    """The successor claimed for a worker that dies before starting it: the coordinator's
    recovery of the dead worker fails that try (retryable: the worker might have started it)
    and its next try runs, once, on another worker."""
    nodes.wait_for_dags("fp_mini")
    run_id = nodes.trigger("fp_mini")
    ref = asyncio.run(_finish_claiming_the_successor(nodes, "doomed"))
    assert ClaimRef.decode(ref).task_id == "s1"
    nodes.start("worker_mini", "worker", "--queues", "fp_mini", "--grace", "1")
    summary = nodes.wait_run("fp_mini", run_id, timeout_s=60)
    assert summary["state"] == "success"
    assert summary["tasks"]["s1"] == {"state": "success", "try_number": 2}
    assert _executions(nodes, run_id) == Counter({("s1", 2): 1, ("s2", 1): 1})  # s0: by hand
    started = _started_on(nodes, "fp_mini", run_id)
    assert started[("s0", 1)] == started[("s1", 1)] == "doomed"
    assert started[("s1", 2)] == started[("s2", 1)] != "doomed"
    nodes.signal("worker_mini", signal.SIGTERM)
