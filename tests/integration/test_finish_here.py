"""Tries their task processes finish themselves (``task_process._Runner._finish_here``): a
success with downstream tasks is finished where it ran, with its whole log, and the successor
its finish claims for the worker starts in the same process, without a round trip through the
worker (Airflow's mini scheduler, where the task ran). Real processes and Redis."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def nodes(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("finish_here")
    shutil.copytree(TEST_DAGS / "finish_here", work / "dags")
    cluster = Cluster(redis_server.url, work / "dags", work, AIRLANE_FAST_PATH="1")
    cluster.start_all(workers=1)
    cluster.wait_for_dags("fh_chain", "fh_slow", "fh_dies", "fh_timeout")
    yield cluster
    cluster.stop_all()


def _whole_log_finishes(nodes: Cluster) -> int:
    """Finishes a task process sent with the whole log (only they call XLEN)."""
    client = nodes.redis()
    try:
        stats = client.info("commandstats").get("cmdstat_xlen", {})
    finally:
        client.close()
    return int(stats.get("calls", 0))


def _runs(nodes: Cluster, run_id: str) -> list[tuple[str, int, int]]:
    lines = (nodes.markers / f"{run_id}.runs").read_text().splitlines()
    return [(t, int(n), int(pid)) for t, n, pid in (line.split() for line in lines)]


def _texts(nodes: Cluster, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[str]:
    """A try's log lines without their time prefix."""
    return [line.split("] ", 1)[1] for line in nodes.log_lines(dag_id, run_id, task_id, try_number)]


def test_a_chain_is_finished_by_its_task_process_with_whole_logs(nodes: Cluster) -> None:
    before = _whole_log_finishes(nodes)
    run_id = nodes.trigger("fh_chain")
    summary = nodes.wait_run("fh_chain", run_id)
    assert summary["state"] == "success"
    assert all(t == {"state": "success", "try_number": 1} for t in summary["tasks"].values())
    # every success with a successor was finished by its task process (s4 has none)
    assert _whole_log_finishes(nodes) - before == 4
    runs = _runs(nodes, run_id)
    assert [t for t, _, _ in runs] == [f"s{i}" for i in range(5)]
    assert len({pid for _, _, pid in runs}) == 1  # each successor where its upstream ran
    for i in range(5):
        texts = _texts(nodes, "fh_chain", run_id, f"s{i}", 1)
        assert texts[0].startswith(f"try 1 of s{i} on worker ")
        # the XCom each pushed reached its successor; every line once
        assert texts[1:] == [f"s{i} got {i}", f"Done. Returned value was: {i + 1}"]


def test_a_log_the_worker_sent_in_part_is_finished_whole(nodes: Cluster) -> None:
    """s0 runs past its worker's first sends of the log: its task process's finish writes the
    lines the worker has not; no line is lost or written twice."""
    before = _whole_log_finishes(nodes)
    run_id = nodes.trigger("fh_slow")
    summary = nodes.wait_run("fh_slow", run_id)
    assert summary["state"] == "success"
    texts = _texts(nodes, "fh_slow", run_id, "s0", 1)
    assert texts[0].startswith("try 1 of s0 on worker ")
    assert texts[1:] == ["s0 starts", "s0 ends", "Done. Returned value was: None"]
    assert _texts(nodes, "fh_slow", run_id, "s2", 1)[1:] == [
        "s2 got 1",
        "Done. Returned value was: 2",
    ]
    # s0 and s1 finished by their task process
    assert _whole_log_finishes(nodes) - before == 2
    runs = _runs(nodes, run_id)
    assert len({pid for _, _, pid in runs}) == 1


def test_a_successor_whose_task_process_dies_is_retried(nodes: Cluster) -> None:
    """s1 runs in the task process that finished s0, which the worker did not start: its first
    try kills that process; the worker reports it failed, and its retry runs once."""
    run_id = nodes.trigger("fh_dies")
    summary = nodes.wait_run("fh_dies", run_id, timeout_s=60)
    assert summary["state"] == "success"
    assert summary["tasks"]["s1"] == {"state": "success", "try_number": 2}
    assert summary["tasks"]["s2"] == {"state": "success", "try_number": 1}
    runs = Counter((t, n) for t, n, _ in _runs(nodes, run_id))
    assert runs == Counter({("s0", 1): 1, ("s1", 1): 1, ("s1", 2): 1, ("s2", 1): 1})
    first = _texts(nodes, "fh_dies", run_id, "s1", 1)
    assert first[1] == "s1 try 1"
    assert "task process was killed by SIGKILL" in first[-1]


def test_a_successor_started_there_is_held_to_its_timeout(nodes: Cluster) -> None:
    run_id = nodes.trigger("fh_timeout")
    summary = nodes.wait_run("fh_timeout", run_id, timeout_s=60)
    assert summary["state"] == "failed"
    assert summary["tasks"]["s1"]["state"] == "failed"
    texts = _texts(nodes, "fh_timeout", run_id, "s1", 1)
    assert any("execution_timeout of 1s exceeded" in text for text in texts)
    # it ran where s0 ran: started by s0's finish there
    runs = _runs(nodes, run_id)
    assert [t for t, _, _ in runs] == ["s0", "s1"]
    assert runs[0][2] == runs[1][2]
