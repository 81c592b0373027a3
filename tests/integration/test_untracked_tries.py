"""A try the coordinator does not count is stopped, never left to run untracked.

Such a try was claimed between a decision the coordinator took in memory and its write: a clear
or mark of a queued instance, fail-fast, a run that ended, or a fast-path successor it overruled
(service/coordinator/fast_path.py). Its worker learns of it from the ``started`` event, as it
does of a try cleared while running (``worker_stop:<worker>``). The events are written here by
hand (no timing): a coordinator and no worker, so that the instances stay queued.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator

import pytest

from airlane.queue.keys import run_ref, ti_field
from airlane.queue.protocol import StopIdent
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)
WORKER = "w-untracked"


@pytest.fixture(scope="module")
def coordinator(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("untracked")
    shutil.copytree(TEST_DAGS / "fast_path", work / "dags")
    cluster = Cluster(redis_server.url, work / "dags", work)
    cluster.start_all(workers=0)
    cluster.wait_for_dags("fp_chain")
    yield cluster
    cluster.stop_all()


def _s0(nodes: Cluster, run_id: str) -> tuple[str, int] | None:
    """s0's state and try number, as stored."""
    found = nodes.task_instances("fp_chain", run_id).get(("s0", -1))
    return None if found is None else (found[0].state.value, found[0].try_number)


def _queued_run(nodes: Cluster) -> str:
    run_id = nodes.trigger("fp_chain")
    wait_until(lambda: _s0(nodes, run_id) == ("queued", 1), 30, "s0 queued")
    return run_id


def _event(nodes: Cluster, kind: str, run_id: str, task_id: str, try_number: int) -> None:
    fields = {
        "kind": kind,
        "run": run_ref("fp_chain", run_id),
        "ti": ti_field(task_id, -1),
        "try": str(try_number),
    }
    if kind == "started":
        fields |= {"worker": WORKER, "at": "1.0"}
    client = nodes.redis()
    client.xadd(nodes.keys.completions, fields)
    client.close()


def _stopped(nodes: Cluster, run_id: str, task_id: str, try_number: int) -> bool:
    ident = StopIdent("fp_chain", run_id, task_id, -1, try_number).encode()
    client = nodes.redis()
    found = bool(client.sismember(nodes.keys.worker_stop(WORKER), ident))
    client.close()
    return found


def test_a_try_the_record_does_not_count_is_stopped(coordinator: Cluster) -> None:
    run_id = _queued_run(coordinator)
    _event(coordinator, "started", run_id, "s0", 7)  # s0 is queued at try 1
    wait_until(lambda: _stopped(coordinator, run_id, "s0", 7), 30, "the stop")
    assert _s0(coordinator, run_id) == ("queued", 1)


def test_a_stale_release_keeps_the_claim_of_the_current_try(coordinator: Cluster) -> None:
    run_id = _queued_run(coordinator)
    client = coordinator.redis()
    claims = coordinator.keys.claims("fp_chain", run_id)
    client.hset(claims, ti_field("s0", -1), "1")  # try 1 claimed (its worker runs it)
    client.close()
    _event(coordinator, "released", run_id, "s0", 0)  # an older try handed back
    _event(coordinator, "started", run_id, "s0", 9)  # read after it: its stop says it was read
    wait_until(lambda: _stopped(coordinator, run_id, "s0", 9), 30, "the stop")
    client = coordinator.redis()
    assert client.hget(claims, ti_field("s0", -1)) == "1"
    client.close()


def test_a_try_of_a_run_that_ended_is_stopped(coordinator: Cluster) -> None:
    run_id = _queued_run(coordinator)
    coordinator.call(
        lambda store: store.mark("fp_chain", run_id, {"s0|-1": "failed"}, whole_run=False)
    )
    wait_until(lambda: coordinator.run_state("fp_chain", run_id) == "failed", 30, "run failed")
    _event(coordinator, "started", run_id, "s1", 1)  # queued before the end was written
    wait_until(lambda: _stopped(coordinator, run_id, "s1", 1), 30, "the stop")


def test_a_try_of_a_run_that_ended_before_a_coordinator_restart_is_stopped(
    coordinator: Cluster,
) -> None:
    """The coordinator that ended the run is gone: its successor knows the run only as one
    it does not drive."""
    run_id = _queued_run(coordinator)
    coordinator.call(
        lambda store: store.mark("fp_chain", run_id, {"s0|-1": "failed"}, whole_run=False)
    )
    wait_until(lambda: coordinator.run_state("fp_chain", run_id) == "failed", 30, "run failed")
    coordinator.signal("coordinator", signal.SIGTERM)
    coordinator.start("coordinator", "coordinator")
    _event(coordinator, "started", run_id, "s1", 1)  # queued before the end was written
    wait_until(lambda: _stopped(coordinator, run_id, "s1", 1), 30, "the stop")
