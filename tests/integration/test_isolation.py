"""User code that exits, hangs, spins, floods its output or gets killed ends only its own try.

Issue 13 item 5: every try runs in a task process of its worker; the worker stays up.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import encode_outcome
from airlane.queue.keys import WORKER_GROUP
from airlane.queue.scripts import CLAIM_MANY, FINISH_MANY, Claim, ClaimMany, Finish, FinishMany
from airlane.sdk.state import TaskInstanceState
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, process_alive, wait_until

pytestmark = pytest.mark.timeout(240)

IMPORT_TIMEOUT_S = "2"
MEMORY_LIMIT_MB = "1024"


@pytest.fixture
def iso(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    folder = tmp_path / "dags"
    shutil.copytree(TEST_DAGS / "isolation", folder)
    nodes = Cluster(
        clean_redis.url,
        folder,
        tmp_path,
        AIRLANE_TASK_IMPORT_TIMEOUT_S=IMPORT_TIMEOUT_S,
        AIRLANE_TASK_MEMORY_LIMIT_MB=MEMORY_LIMIT_MB,
    )
    yield nodes
    nodes.stop_all()


def _start(cluster: Cluster, concurrency: int = 4) -> None:
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker0", "worker", "--concurrency", str(concurrency), "--grace", "1")


def _worker_alive(cluster: Cluster) -> bool:
    return cluster.procs["worker0"].poll() is None


def _log_text(cluster: Cluster, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    return "\n".join(cluster.log_lines(dag_id, run_id, task_id, try_number))


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        ("import os; os._exit(3)", "task process exited with code 3"),
        (
            "import time; time.sleep(3600)",
            f"DagBag import timeout for {{path}} after {IMPORT_TIMEOUT_S}s",
        ),
    ],
    ids=["exits", "hangs"],
)
def test_dag_file_edited_to_exit_or_hang_at_import_fails_only_that_try(
    iso: Cluster, first_line: str, expected: str
) -> None:
    _start(iso)
    iso.wait_for_dags("edited_while_running", "quick")
    run_id = iso.trigger("edited_while_running")
    wait_until((iso.markers / f"{run_id}.waiting").exists, 60, "the gate task to run")
    path = iso.dags_folder / "edited_while_running.py"
    path.write_text(f"{first_line}\n{path.read_text()}")
    (iso.markers / f"{run_id}.gate").touch()

    summary = iso.wait_run("edited_while_running", run_id, timeout_s=90)
    assert summary["tasks"]["gate"] == {"state": "success", "try_number": 1}
    assert summary["tasks"]["after"] == {"state": "failed", "try_number": 2}
    for try_number in (1, 2):
        text = _log_text(iso, "edited_while_running", run_id, "after", try_number)
        assert expected.format(path=path) in text
    assert _worker_alive(iso)
    other = iso.trigger("quick")
    assert iso.wait_run("quick", other)["state"] == "success"
    assert _worker_alive(iso)


def test_python_task_past_its_timeout_is_killed_and_the_worker_runs_the_next(
    iso: Cluster,
) -> None:
    _start(iso, concurrency=1)
    iso.wait_for_dags("spins_past_timeout")
    run_id = iso.trigger("spins_past_timeout")
    summary = iso.wait_run("spins_past_timeout", run_id, timeout_s=60)
    assert summary["tasks"]["spin"]["state"] == "failed"
    assert summary["tasks"]["next"] == {"state": "success", "try_number": 1}
    assert "execution_timeout of 1s exceeded" in _log_text(
        iso, "spins_past_timeout", run_id, "spin", 1
    )
    pid = int((iso.markers / f"{run_id}.spin.pid").read_text())
    wait_until(lambda: not process_alive(pid), 10, "the spinning task process to be killed")
    assert _worker_alive(iso)


def test_task_process_killed_mid_try_fails_that_try_and_it_retries(iso: Cluster) -> None:
    _start(iso)
    iso.wait_for_dags("killed_mid_try")
    run_id = iso.trigger("killed_mid_try")
    pidfile = iso.markers / f"{run_id}.victim.pid"
    wait_until(pidfile.exists, 60, "the victim task to start")
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    summary = iso.wait_run("killed_mid_try", run_id, timeout_s=60)
    assert summary["tasks"]["victim"] == {"state": "success", "try_number": 2}
    text = _log_text(iso, "killed_mid_try", run_id, "victim", 1)
    assert "task process was killed by SIGKILL" in text
    assert _worker_alive(iso)


def test_what_a_try_printed_before_os_exit_is_in_its_log(iso: Cluster) -> None:
    """A line is sent to the worker as it is written: an abrupt end keeps the lines before it."""
    _start(iso)
    iso.wait_for_dags("exits_mid_try")
    run_id = iso.trigger("exits_mid_try")
    summary = iso.wait_run("exits_mid_try", run_id, timeout_s=60)
    assert summary["tasks"]["leaver"]["state"] == "failed"
    text = _log_text(iso, "exits_mid_try", run_id, "leaver", 1)
    assert "the last words before os._exit" in text
    assert "task process exited with code 7" in text
    assert _worker_alive(iso)


def test_task_over_its_memory_limit_fails_and_the_worker_stays(iso: Cluster) -> None:
    _start(iso)
    iso.wait_for_dags("memory_hog", "quick")
    run_id = iso.trigger("memory_hog")
    assert iso.wait_run("memory_hog", run_id)["tasks"]["hog"]["state"] == "failed"
    assert "MemoryError" in _log_text(iso, "memory_hog", run_id, "hog", 1)
    assert iso.wait_run("quick", iso.trigger("quick"))["state"] == "success"
    assert _worker_alive(iso)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


#: The worker's peak RSS while four tasks print 104 MB each (it held all of it before).
WORKER_RSS_BOUND_MB = 200


def test_heavy_output_keeps_the_worker_bounded_and_no_try_is_lost(iso: Cluster) -> None:
    _start(iso)
    iso.wait_for_dags("heavy_output", "long_line")
    run_id = iso.trigger("heavy_output")
    wide = iso.trigger("long_line")
    summary = iso.wait_run("heavy_output", run_id, timeout_s=180)
    for i in range(4):
        assert summary["tasks"][f"loud{i}"] == {"state": "success", "try_number": 1}
    peak_mb = _peak_rss_mb(iso.procs["worker0"].pid)
    print(f"worker peak RSS: {peak_mb:.0f} MB")
    assert peak_mb < WORKER_RSS_BOUND_MB, f"worker peaked at {peak_mb:.0f} MB"
    coordinator = iso.logs("coordinator")
    assert "stopped heartbeating" not in coordinator
    assert "no longer runs" not in coordinator

    assert iso.wait_run("long_line", wide)["tasks"]["wide"]["state"] == "success"
    lines = iso.log_lines("long_line", wide, "wide", 1)
    pieces = [line for line in lines if "xxxx" in line]
    assert sum(line.count("x") for line in pieces) == 100_000
    assert any(line.endswith("done") for line in lines)


def _queued(cluster: Cluster, dag_id: str, run_id: str) -> bool:
    return any(
        r.state.value == "queued" for r, _ in cluster.task_instances(dag_id, run_id).values()
    )


@pytest.mark.parametrize("isolation", ["process", "inline"])
def test_fresh_worker_imports_two_dag_files_at_once(
    clean_redis: RedisServer, tmp_path: Path, isolation: str
) -> None:
    """Issue 13 item 10: a worker starting while two files' tasks wait imports both at once."""
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in ("import_a.py", "import_b.py"):
        shutil.copy(TEST_DAGS / "isolation" / name, folder / name)
    cluster = Cluster(clean_redis.url, folder, tmp_path, AIRLANE_TASK_ISOLATION=isolation)
    try:
        cluster.start("dag-processor", "dag-processor")
        cluster.start("coordinator", "coordinator")
        cluster.wait_for_dags("import_a", "import_b")
        for round_number in range(3):
            runs = {dag_id: cluster.trigger(dag_id) for dag_id in ("import_a", "import_b")}
            for dag_id, run_id in runs.items():
                wait_until(lambda: _queued(cluster, dag_id, run_id), 30, f"{dag_id} queued")  # noqa: B023
            name = f"worker{round_number}"
            cluster.start(name, "worker", "--concurrency", "4", "--grace", "1")
            for dag_id, run_id in runs.items():
                summary = cluster.wait_run(dag_id, run_id, timeout_s=90)
                assert summary["state"] == "success", summary
            cluster.signal(name, signal.SIGTERM)
    finally:
        cluster.stop_all()


def test_a_try_whose_completion_is_not_consumed_yet_is_not_failed(iso: Cluster) -> None:
    """Item 5's last point: a live worker that finished a try no longer reports it, and the
    coordinator may read that heartbeat before the completion; the try is not lost then.

    A ghost worker stands in for the worker: it claims the try, then gives it up as a finish
    does (its claim reference removed) and reports nothing while the coordinator makes several
    passes; only then does the completion arrive.
    """
    iso.start("dag-processor", "dag-processor")
    iso.start("coordinator", "coordinator")
    iso.wait_for_dags("quick")
    run_id = iso.trigger("quick")
    client = iso.redis()
    keys = iso.keys
    stream = keys.queue("default")
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP
        client.xgroup_create(stream, WORKER_GROUP, id="0", mkstream=True)
    message = wait_until(
        lambda: client.xreadgroup(WORKER_GROUP, "ghost", {stream: ">"}, count=1), 20, "the task"
    )
    message_id = message[0][1][0][0]
    ref = "|".join([stream, message_id, "quick", run_id, "hello|-1", "1"])
    claim = Claim("quick", run_id, "hello", -1, 1, message_ref=ref)
    wire = ClaimMany("ghost", time.time(), (claim,), completions_maxlen=1000).encode(keys)
    assert client.eval(CLAIM_MANY, len(wire.keys), *wire.keys, *wire.args) == [1]

    def beat(running: list[str]) -> None:
        info = {"running": running, "heartbeat_at": time.time()}
        client.hset(keys.workers, "ghost", json.dumps(info))
        client.zadd(keys.worker_beats, {"ghost": time.time()})

    def running_on_ghost() -> bool:
        beat([ref])
        found = iso.task_instances("quick", run_id).get(("hello", -1))
        return found is not None and found[0].state.value == "running"

    wait_until(running_on_ghost, 20, "the coordinator to see the ghost's try")
    client.srem(keys.worker_tasks("ghost"), ref)
    passes, last = 0, client.get(keys.coordinator_beat)
    while passes < 4:  # the coordinator's periodic passes, each with fresh heartbeats
        beat([])
        time.sleep(0.2)
        now = client.get(keys.coordinator_beat)
        passes, last = passes + (now != last), now
    found = iso.task_instances("quick", run_id)[("hello", -1)]
    assert found[0].state.value == "running"

    outcome = encode_outcome(TaskOutcome(TaskInstanceState.SUCCESS, 1, ended_at_s=time.time()))
    finish = Finish(stream, message_id, "quick", run_id, "hello", -1, 1, outcome, ref)
    call = FinishMany("ghost", (finish,), 1000, 3600, completions_maxlen=1000)
    wire = call.encode(keys)
    client.eval(FINISH_MANY, len(wire.keys), *wire.keys, *wire.args)
    summary = iso.wait_run("quick", run_id, timeout_s=20)
    client.close()
    assert summary["tasks"]["hello"] == {"state": "success", "try_number": 1}
    assert "no longer runs" not in iso.logs("coordinator")
