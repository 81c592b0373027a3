"""``airlane standalone``: embedded Redis plus every service; Ctrl-C then a restart resumes runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.store import Store
from airlane.service.batch_scheduling import runs_batch
from airlane.service.redis_priority import RedisPriority, current_priority
from tests.conftest import EXAMPLE_DAGS, TEST_DAGS, run_cli
from tests.integration.cluster import die_with_test, wait_until

pytestmark = pytest.mark.timeout(300)


VENV = Path(sys.executable).parent.parent  # not resolved: the venv's own bin/python
SCRIPT = VENV / "bin" / "airlane"


def _start(dags: Path, data: Path, log: Path) -> subprocess.Popen[bytes]:
    """As `make run` starts it: the venv's ``airlane`` script (not on PATH), a relative data dir."""
    env = {**os.environ, "AIRLANE_WORKER_GRACE_S": "0.5"}
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "airlane"]
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*command, "standalone", "--dags-folder", str(dags), "--data-dir", data.name],
            cwd=data.parent,
            stdout=out,
            stderr=out,
            env=env,
            preexec_fn=die_with_test,
        )


def _ti_state(env: dict[str, str], dag_id: str, run_id: str, task_id: str) -> str | None:
    async def read() -> str | None:
        client = connect(env["AIRLANE_REDIS_URL"])
        try:
            tis = await Store(client, Keys()).task_instances(dag_id, run_id)
        finally:
            await client.aclose()
        found = tis.get((task_id, -1))
        return found[0].state.value if found else None

    return asyncio.run(read())


def _redis_priority(env: dict[str, str]) -> RedisPriority:
    async def pid() -> int:
        client = connect(env["AIRLANE_REDIS_URL"])
        try:
            return int((await client.info("server"))["process_id"])
        finally:
            await client.aclose()

    return current_priority(asyncio.run(pid()))


def _descendants(root_pid: int) -> dict[int, str]:
    """The processes under ``root_pid``: pid -> command line."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found: dict[int, str] = {}
    for pid in parents:
        ancestor = parents.get(pid, 0)
        while ancestor > 1 and ancestor != root_pid:
            ancestor = parents.get(ancestor, 0)
        if ancestor == root_pid:
            with contextlib.suppress(OSError):
                found[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    return found


def _batch_by_role(root_pid: int) -> dict[str, set[bool]]:
    """Whether each of the standalone's services runs under SCHED_BATCH (task processes, forked
    from their template, have its command line)."""
    # (a task process's command line names the worker package: looked for first)
    roles = ("task_template", "task_process", "coordinator", "dag-processor", "worker", "api")
    found: dict[str, set[bool]] = {}
    for pid, command in _descendants(root_pid).items():
        words = command.replace(".", " ").split()
        role = next((r for r in roles if r in words), None)
        if role is not None:
            with contextlib.suppress(OSError):
                found.setdefault(role, set()).add(runs_batch(pid))
    return found


def _env_file(data: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (data / "airlane.env").read_text().splitlines()
        if "=" in line
    )
    return dict(pairs)


def test_standalone_runs_the_seed_and_resumes_after_ctrl_c(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(EXAMPLE_DAGS, dags)
    shutil.copy(TEST_DAGS / "faults" / "fault_dags.py", dags / "fault_dags.py")
    data = tmp_path / "airlane-data"
    log = tmp_path / "standalone.log"
    proc = _start(dags, data, log)
    try:
        wait_until(lambda: (data / "airlane.env").exists(), 30, "airlane.env")
        env = _env_file(data)
        wait_until(
            lambda: run_cli("dags", "unpause", "simple_airflow_dag", env=env).code == 0,
            30,
            "the DAGs",
        )
        seed = run_cli(
            "dags", "trigger", "simple_airflow_dag", "--wait", "--json", "--timeout", "60", env=env
        )
        assert seed.code == 0, seed.stderr + log.read_text()
        assert seed.json()["state"] == "success"
        # an ordinary process by default (service/redis_priority.py says why)
        assert _redis_priority(env) is RedisPriority.NORMAL
        assert "redis-server runs at normal CPU priority" in log.read_text()
        # nothing but the API (and Redis) preempts a successor starting in its task process
        # (service/batch_scheduling.py)
        batch = _batch_by_role(proc.pid)
        assert batch["coordinator"] == batch["dag-processor"] == batch["task_template"] == {True}
        assert batch["worker"] == {True}
        assert batch["api"] == {False}
        for role in ("worker", "coordinator", "api"):  # (service/event_loop.py)
            assert "event loop: uvloop" in (data / f"{role}.log").read_text(), role
        logs = run_cli(
            "tasks", "logs", "simple_airflow_dag", seed.json()["run_id"], "print_hello", env=env
        )
        assert "Hello Airflow" in logs.stdout
        _readme_api_example_works(tmp_path, log)
        _printed_cli_commands_work(tmp_path, log)

        assert run_cli("dags", "unpause", "hand_back", env=env).code == 0
        assert run_cli("dags", "trigger", "hand_back", "--run-id", "unfinished", env=env).code == 0
        # Read Redis directly: a CLI process per poll can take longer than the 3 s task runs.
        # (On a loaded machine the coordinator can read the try's start and end together: the
        # record then goes from queued to success, and Ctrl-C comes after the try.)
        wait_until(
            lambda: _ti_state(env, "hand_back", "unfinished", "long") in ("running", "success"),
            30,
            "the long task to run",
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    proc = _start(dags, data, log)
    try:
        wait_until(lambda: (data / "airlane.env").exists(), 30, "airlane.env")
        env = _env_file(data)
        result = run_cli(
            "dags", "trigger", "simple_airflow_dag", "--run-id", "after_restart", "--wait", env=env
        )
        assert result.code == 0, result.stderr
        wait_until(
            lambda: (
                '"state": "success"'
                in run_cli("runs", "show", "hand_back", "unfinished", "--json", env=env).stdout
            ),
            60,
            "the unfinished run to finish after the restart",
        )
        shown = run_cli("runs", "show", "hand_back", "unfinished", "--json", env=env).json()
        assert shown["tasks"]["long"] == {"state": "success", "try_number": 1}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def _readme_api_example_works(cwd: Path, log: Path) -> None:
    """The README's curl example, run as written against this standalone."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("<!-- api-example -->")[1].split("<!-- /api-example -->")[0]
    script = block.split("```bash\n", 1)[1].rsplit("```", 1)[0]
    password = (cwd / "airlane-data" / "admin-password").read_text().strip()
    assert password in log.read_text()  # standalone printed it
    done = subprocess.run(
        ["timeout", "10", "bash", "-c", script], cwd=cwd, capture_output=True, text=True
    )
    out = done.stdout
    # the run as POSTed: queued, or already running when the coordinator was quicker
    assert out.startswith(('false\n"queued"\n', 'false\n"running"\n')), out + done.stderr
    events = [line for line in out.splitlines() if line.startswith("data: ")]
    assert '"state":"queued"' in events[0]  # the run's whole history, from its creation
    assert any('"task_id":"print_hello"' in e and '"state":"success"' in e for e in events)
    assert '"kind":"run"' in events[-1]
    assert '"state":"success"' in events[-1]


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # PATH without the venv: `airlane` is not on it after `make run` either.
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if str(VENV) not in p)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLANE_")}
    return subprocess.run(
        ["timeout", "60", "bash", "-ec", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**env, "PATH": path},
    )


def _printed_cli_commands_work(cwd: Path, log: Path) -> None:
    """The banner's CLI lines and the README's quick start, run as printed from where
    standalone was started (the README's from a checkout: .venv is the venv)."""
    banner = log.read_text().split("  CLI          ", 1)[1].split("Press Ctrl-C", 1)[0]
    done = _bash(banner.replace("\n               ", "\n"), cwd)
    assert done.returncode == 0, banner + done.stdout + done.stderr
    assert "simple_airflow_dag" in done.stdout
    assert "success" in done.stdout

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("Or, in a second\nterminal:\n\n```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if "<" not in line]  # <run_id>: a placeholder
    if not (cwd / ".venv").exists():
        (cwd / ".venv").symlink_to(VENV)
    done = _bash("\n".join(lines), cwd)
    assert done.returncode == 0, block + done.stdout + done.stderr
    assert "success" in done.stdout
