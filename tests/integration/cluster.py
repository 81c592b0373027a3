"""Real redis-server and real Airlane processes for integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import redis

from airlane.cli.client import run_summary
from airlane.queue.connection import connect
from airlane.queue.keys import WORKER_GROUP, Keys
from airlane.queue.store import RunRequest, Store
from airlane.sdk.timezone import coerce_datetime, utcnow
from tests.artifacts import REGISTRY, copy_tree

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def die_with_test() -> None:
    """In a child: own session, and SIGKILL when the test process dies.

    Without it a service left by an aborted run keeps retrying its Redis port, and a later
    redis-server given the same free port would receive it as a stray worker.
    """
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def wait_until(
    predicate: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05
) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


class RedisServer:
    """A redis-server with AOF (``appendfsync always``: a SIGKILL loses no acknowledged write)."""

    def __init__(self, directory: Path, appendfsync: str = "always") -> None:
        self.directory = directory
        self.appendfsync = appendfsync
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        REGISTRY.register("redis", self)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/setup.sh installs it)"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                self.appendfsync,
                "--save",
                "",
                "--logfile",
                "redis.log",
            ],
            preexec_fn=die_with_test,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), 10, "redis-server to accept connections")
        client.close()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def flush(self) -> None:
        client = redis.Redis.from_url(self.url)
        client.flushall()
        client.close()

    def save_artifacts(self, target: Path) -> None:
        log = self.directory / "redis.log"
        if log.exists():
            shutil.copy2(log, target / "redis.log")

    def artifacts_open(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.BusyLoadingError):
        return False


class Cluster:
    """Airlane service processes against one Redis, and a client to drive them."""

    def __init__(self, redis_url: str, dags_folder: Path, work_dir: Path, **env: str) -> None:
        self.redis_url = redis_url
        self.dags_folder = dags_folder
        self.work_dir = work_dir
        self.markers = work_dir / "markers"
        self.markers.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            "AIRLANE_REDIS_URL": redis_url,
            "AIRLANE_DAGS_FOLDER": str(dags_folder),
            "AIRLANE_DAGS_ARE_PAUSED_AT_CREATION": "false",
            "AIRLANE_WORKER_HEARTBEAT_S": "0.5",
            "AIRLANE_WORKER_TIMEOUT_S": "3",
            "AIRLANE_COORDINATOR_LEASE_S": "3",
            "AIRLANE_TEST_MARKERS": str(self.markers),
            # A service that must be made to dump its threads' stacks (SIGABRT) can.
            "PYTHONFAULTHANDLER": "1",
            **env,
        }
        self.keys = Keys()
        REGISTRY.register("cluster", self)

    # ---- processes ----------------------------------------------------------------------

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.work_dir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "airlane", *args],
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=die_with_test,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def start_all(self, workers: int = 2, concurrency: int = 16) -> None:
        self.start("dag-processor", "dag-processor")
        self.start("coordinator", "coordinator")
        for i in range(workers):
            self.start(f"worker{i}", "worker", "--concurrency", str(concurrency), "--grace", "1")

    def signal(self, name: str, sig: int, exit_timeout_s: float = 30) -> None:
        """Send ``sig`` to ``name``; for a signal that stops it, wait until it has exited."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
                try:
                    proc.wait(timeout=exit_timeout_s)
                except subprocess.TimeoutExpired:
                    raise AssertionError(self._stuck(name, sig, exit_timeout_s)) from None

    def _stuck(self, name: str, sig: int, waited_s: float) -> str:
        """Why ``name`` did not exit: its asyncio tasks' stacks (SIGUSR1), its threads' stacks
        (faulthandler dumps them on SIGABRT) and the end of its log."""
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGUSR1)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: "asyncio tasks (" in self.logs(name), 5, "the tasks' stacks")
        os.kill(proc.pid, signal.SIGABRT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return (
            f"{name} (pid {proc.pid}) did not exit within {waited_s:g} s of "
            f"{signal.Signals(sig).name}; made to dump its stacks (SIGUSR1, SIGABRT), "
            "the end of its log:\n" + self.logs(name)[-12000:]
        )

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self, name: str) -> str:
        return (self.work_dir / f"{name}.log").read_text(errors="replace")

    # ---- failure artifacts (tests/artifacts.py) -----------------------------------------

    def artifacts_open(self) -> bool:
        return any(proc.poll() is None for proc in self.procs.values())

    def save_artifacts(self, target: Path) -> None:
        """The work directory (every process's log, markers, DAGs) and what Redis holds that
        explains a run: the last events, the workers, the queues' consumer groups."""
        copy_tree(self.work_dir, target / "work")
        states = {name: proc.poll() for name, proc in self.procs.items()}
        (target / "processes.json").write_text(json.dumps(states, indent=1) + "\n")
        client = redis.Redis.from_url(self.redis_url, decode_responses=True, socket_timeout=5)
        try:
            events = client.xrevrange(self.keys.events, count=500)
            lines = [json.dumps({"id": i, **f}) for i, f in reversed(events)]
            (target / "events.jsonl").write_text("\n".join(lines) + "\n")
            workers = {"workers": client.hgetall(self.keys.workers)}
            workers["beats"] = dict(client.zrange(self.keys.worker_beats, 0, -1, withscores=True))
            (target / "workers.json").write_text(json.dumps(workers, indent=1) + "\n")
        except redis.RedisError as err:
            (target / "redis-unavailable.txt").write_text(
                f"Redis was unavailable at the last save (an earlier one has its data): {err!r}\n"
            )
        finally:
            client.close()

    # ---- client -------------------------------------------------------------------------

    def call(self, func: Callable[[Store], Any]) -> Any:
        async def go() -> Any:
            client = connect(self.redis_url)
            try:
                return await func(Store(client, self.keys))
            finally:
                await client.aclose()

        return asyncio.run(go())

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def blocked_reads(self, client_name: str) -> int:
        """How many connections named ``client_name`` wait in a blocking read."""
        client = self.redis()
        clients = client.client_list()
        client.close()
        return sum(1 for c in clients if c.get("name") == client_name and "b" in c.get("flags", ""))

    def pause(self, name: str, client_name: str) -> None:
        """SIGSTOP ``name`` and wait until its blocked read has timed out, so that what is
        written next waits in Redis for it instead of going to a stopped process."""
        self.signal(name, signal.SIGSTOP)
        wait_until(lambda: self.blocked_reads(client_name) == 0, 10, f"{name}'s read to end")

    def wait_for_dags(self, *dag_ids: str, timeout_s: float = 30) -> None:
        client = self.redis()
        wait_until(
            lambda: all(client.hexists(self.keys.dags, d) for d in dag_ids),
            timeout_s,
            f"DAGs {dag_ids}",
        )
        client.close()

    def trigger(
        self,
        dag_id: str,
        run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | None = None,
        run_after: datetime | None = None,
    ) -> str:
        when = coerce_datetime(logical_date) if logical_date else utcnow()
        assert when is not None
        run_id = run_id or f"test__{dag_id}__{time.time_ns()}"
        request = RunRequest(dag_id, run_id, when, when, when, conf or {}, run_after=run_after)
        self.call(lambda store: store.create_run(request))
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        client = self.redis()
        state = client.hget(self.keys.run(dag_id, run_id), "state")
        client.close()
        return state  # type: ignore[return-value]

    def wait_run(self, dag_id: str, run_id: str, timeout_s: float = 60) -> dict[str, Any]:
        try:
            wait_until(
                lambda: self.run_state(dag_id, run_id) in ("success", "failed"),
                timeout_s,
                f"run {run_id} of {dag_id} to end",
                interval_s=0.05,
            )
        except AssertionError as err:  # say where it stands
            raise AssertionError(f"{err}; {self.describe_run(dag_id, run_id)}") from None
        summary: dict[str, Any] = self.call(lambda store: run_summary(store, dag_id, run_id))
        return summary

    def describe_run(self, dag_id: str, run_id: str) -> str:
        """A run's state and how many of its instances are in each state, e.g. for a wait
        that timed out."""
        tis = self.task_instances(dag_id, run_id)
        states = Counter(record.state.value for record, _ in tis.values())
        running = sorted(
            f"{t}[{m}]" for (t, m), (r, _) in tis.items() if r.state.value == "running"
        )
        return (
            f"run state {self.run_state(dag_id, run_id)!r}, instances by state {dict(states)}, "
            f"running: {running[:20]}"
        )

    def wait_for_beats(self, key: str | None = None, count: int = 2, timeout_s: float = 30) -> None:
        """Return once a service's beat key (the coordinator's by default) has changed ``count``
        times from now.

        The coordinator writes its beat at the start of each periodic check; two changes mean a
        whole loop (commands read, runs scheduled, tasks queued, writes flushed) began after
        everything written before this call: what it would have done, it has done. Tests wait on
        this before asserting that something did not happen, never on a fixed sleep.
        """
        client = self.redis()
        beat_key = key or self.keys.coordinator_beat
        seen = [client.get(beat_key)]

        def advanced() -> bool:
            value = client.get(beat_key)
            if value is not None and value != seen[-1]:
                seen.append(value)
            return len(seen) > count

        try:
            wait_until(advanced, timeout_s, f"{count} beats of {beat_key}")
        finally:
            client.close()

    def wait_for_consumed(
        self, stream: str, entry_id: str, group: str = WORKER_GROUP, timeout_s: float = 30
    ) -> None:
        """Return once ``group`` has read the stream past ``entry_id`` and acknowledged all it
        read: whatever its consumers did with the entry is done."""
        client = self.redis()

        def consumed() -> bool:
            info = next(g for g in client.xinfo_groups(stream) if g["name"] == group)
            last = tuple(int(p) for p in info["last-delivered-id"].split("-"))
            return last >= tuple(int(p) for p in entry_id.split("-")) and info["pending"] == 0

        try:
            wait_until(consumed, timeout_s, f"{group} to consume {stream} past {entry_id}")
        finally:
            client.close()

    def task_instances(self, dag_id: str, run_id: str) -> dict[tuple[str, int], Any]:
        result: dict[tuple[str, int], Any] = self.call(
            lambda store: store.task_instances(dag_id, run_id)
        )
        return result

    def log_lines(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
    ) -> list[str]:
        lines: list[str] = self.call(
            lambda store: store.log_lines(dag_id, run_id, task_id, map_index, try_number)
        )
        return lines


SECRET = "a-test-secret-of-the-api-at-least-32-bytes"
USERS = "alice:wonderland:admin,victor:viewer-pw:viewer"


@dataclass
class Api:
    url: str
    cluster: Cluster

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def listening(self) -> bool:
        try:
            return self.call("GET", "/api/v2/version")[0] == 200
        except OSError:
            return False

    @classmethod
    def start(cls, nodes: Cluster) -> Api:
        """An ``airlane api`` process of ``nodes`` on a free port, once it listens."""
        port = free_port()
        name = next(f"api{i}" for i in range(100) if f"api{i}" not in nodes.procs)
        nodes.start(name, "api", "--port", str(port))
        api = cls(f"http://127.0.0.1:{port}", nodes)
        wait_until(api.listening, 30, "the API to listen")
        return api

    def token(self, username: str = "alice", password: str = "wonderland") -> str:
        status, body = self.call(
            "POST", "/auth/token", {"username": username, "password": password}
        )
        assert status == 201, body
        return str(body["access_token"])


@contextmanager
def api_cluster(
    redis_server: RedisServer,
    work: Path,
    folder: Path,
    workers: int = 2,
    concurrency: int = 16,
    **env: str,
) -> Iterator[Api]:
    """Redis flushed, then the DAG processor, the coordinator, ``workers`` workers and an API
    with the test users on ``folder``; everything stopped afterwards."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    nodes = Cluster(
        redis_server.url, folder, work, AIRLANE_API_USERS=USERS, AIRLANE_API_SECRET=SECRET, **env
    )
    nodes.start_all(workers=workers, concurrency=concurrency)
    try:
        yield Api.start(nodes)
    finally:
        nodes.stop_all()
