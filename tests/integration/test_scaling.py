"""Scaling worker replicas on real processes: workers joining and leaving mid-run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from airlane.service.standalone import free_port
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer, die_with_test, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def scaling(clean_redis: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    shutil.copytree(TEST_DAGS / "scaling", tmp_path / "dags")
    nodes = Cluster(clean_redis.url, tmp_path / "dags", tmp_path)
    nodes.start("dag-processor", "dag-processor")
    nodes.start("coordinator", "coordinator")
    nodes.wait_for_dags("scale_up_fan_out", "scale_down_fan_out", timeout_s=60)
    yield nodes
    nodes.stop_all()


def _workers_of(cluster: Cluster, dag_id: str, run_id: str) -> Counter[str]:
    return Counter(
        str(meta.worker) for (_, (_, meta)) in cluster.task_instances(dag_id, run_id).items()
    )


def test_workers_that_join_mid_run_take_work(scaling: Cluster) -> None:
    scaling.start("worker0", "worker", "--concurrency", "16")
    run_id = scaling.trigger("scale_up_fan_out")
    client = scaling.redis()

    def succeeded() -> int:
        tis = scaling.task_instances("scale_up_fan_out", run_id)
        return sum(1 for record, _ in tis.values() if record.state.value == "success")

    wait_until(lambda: succeeded() >= 50, 60, "the first tasks on one worker")
    joined_at = time.time()
    for i in (1, 2, 3):
        scaling.start(f"worker{i}", "worker", "--concurrency", "16")
    summary = scaling.wait_run("scale_up_fan_out", run_id, timeout_s=240)
    client.close()
    bad = {k: v for k, v in summary["tasks"].items() if v["state"] != "success"}
    assert summary["state"] == "success", (bad, scaling.logs("coordinator")[-3000:])
    by_worker = _workers_of(scaling, "scale_up_fan_out", run_id)
    assert len(by_worker) == 4, by_worker  # all four workers ran tries
    newcomers = [w for w in by_worker if w != max(by_worker, key=by_worker.__getitem__)]
    tis = scaling.task_instances("scale_up_fan_out", run_id)
    first_start = min(
        float(meta.start_date or 0) for (_, meta) in tis.values() if str(meta.worker) in newcomers
    )
    # a new worker process needs about a second to import; then it takes work at once
    assert first_start - joined_at < 10


def test_workers_stopped_mid_run_lose_nothing(scaling: Cluster) -> None:
    for i in range(4):
        scaling.start(f"worker{i}", "worker", "--concurrency", "16", "--grace", "0.1")
    run_id = scaling.trigger("scale_down_fan_out")

    def running() -> int:
        tis = scaling.task_instances("scale_down_fan_out", run_id)
        return sum(1 for record, _ in tis.values() if record.state.value == "running")

    wait_until(lambda: running() >= 20, 60, "tasks running on every worker")
    scaling.signal("worker0", signal.SIGTERM)
    scaling.signal("worker1", signal.SIGTERM)
    summary = scaling.wait_run("scale_down_fan_out", run_id, timeout_s=120)
    bad = {k: v for k, v in summary["tasks"].items() if v["state"] != "success"}
    assert summary["state"] == "success", (bad, scaling.logs("coordinator")[-3000:])
    assert {task["state"] for task in summary["tasks"].values()} == {"success"}
    # handed back tries keep their try number: nothing was counted as a failure
    assert {task["try_number"] for task in summary["tasks"].values()} == {1}
    # The stopped workers handed tries back, which others then ran: such a try went from
    # running back to queued under the same try number (completions are trimmed once read;
    # the events stream keeps the history).
    client = scaling.redis()
    seen: dict[str, list[str]] = {}
    for _, fields in client.xrange(scaling.keys.events):
        if fields.get("kind") == "ti" and fields["run"] == f"scale_down_fan_out|{run_id}":
            seen.setdefault(fields["ti"], []).append(fields["state"])
    client.close()
    handed_back = [
        ti
        for ti, states in seen.items()
        if "running" in states and "queued" in states[states.index("running") + 1 :]
    ]
    assert handed_back


def _pings(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def _netns_available() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "iproute2's ip command is not installed"
    probe = f"al-probe-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "this sandbox does not allow creating network namespaces"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def test_a_worker_on_another_network_host_runs_the_tasks(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The worker lives in its own network namespace and reaches Redis over a veth link."""
    reason = _netns_available()
    if reason:
        pytest.skip(reason)
    tag = f"{os.getpid() % 10000}"
    ns, host_if, ns_if = f"al-{tag}", f"alh{tag}", f"aln{tag}"
    subnet = 200 + os.getpid() % 50
    host_ip, ns_ip = f"10.231.{subnet}.1", f"10.231.{subnet}.2"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", ns)
    redis_proc = None
    worker = None
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        port = free_port()
        redis_proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                f"127.0.0.1 {host_ip}",
                "--save",
                "",
                "--protected-mode",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_test,
        )
        local_url = f"redis://127.0.0.1:{port}/0"
        wait_until(lambda: _pings(local_url), 10, "redis")
        shutil.copytree(TEST_DAGS / "scaling", tmp_path / "dags")
        nodes = Cluster(local_url, tmp_path / "dags", tmp_path)
        nodes.start("dag-processor", "dag-processor")
        nodes.start("coordinator", "coordinator")
        nodes.wait_for_dags("scale_down_fan_out", timeout_s=60)
        env = {**nodes.env, "AIRLANE_REDIS_URL": f"redis://{host_ip}:{port}/0"}
        with open(tmp_path / "netns-worker.log", "ab") as log:
            worker = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    sys.executable,
                    "-m",
                    "airlane",
                    "worker",
                    "--concurrency",
                    "64",
                ],
                env=env,
                stdout=log,
                stderr=log,
                preexec_fn=die_with_test,
            )
        run_id = nodes.trigger("scale_down_fan_out")
        summary = nodes.wait_run("scale_down_fan_out", run_id, timeout_s=120)
        nodes.stop_all()
        assert summary["state"] == "success", (tmp_path / "netns-worker.log").read_text()
        workers = _workers_of(nodes, "scale_down_fan_out", run_id)
        assert len(workers) == 1  # the namespaced worker ran everything
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
