"""What a DAG file may cost at import: its output, its memory, the processes it forks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from airlane.dag_loader import isolated
from airlane.dag_loader.isolated import ImportLimits, parse_files
from airlane.queue.keys import Keys
from airlane.queue.store import Store
from airlane.service.dag_processor import DagProcessor, DagProcessorSettings
from tests.integration.cluster import RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)

LOUD = """
    import resource
    from airflow import DAG

    print("first print " + "a" * 100)
    for i in range(300):
        print(str(i) * 1_000_000)  # 300 MB in all
    print("last print " + "b" * 100)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with DAG("loud", schedule=None, doc_md=str(peak_kb)):
        pass
"""
LOUD_BROKEN = """
    from airflow import DAG

    for i in range(100):
        print("x" * 1_000_000)
    raise ValueError("head of the message " + "m" * 5_000_000 + " end of the message")
"""
GREEDY = """
    from airflow import DAG

    hoard = bytearray(4 * 1024 * 1024 * 1024)
    with DAG("greedy", schedule=None):
        pass
"""
MODEST = """
    from airflow import DAG

    with DAG("modest", schedule=None):
        pass
"""
BIG_RESULT = """
    from airflow import DAG

    with DAG("big_result", schedule=None, doc_md="d" * 2_000_000):
        pass
"""
HANGS = """
    import os
    import time

    with open({pid_file!r}, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(3600)
"""
FORKS = """
    import os
    import time
    from airflow import DAG

    child = os.fork()
    if child == 0:
        time.sleep(3600)
        os._exit(0)
    with open({pid_file!r}, "w") as out:
        out.write(str(child))
    with DAG("forks", schedule=None):
        pass
"""


def write(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_a_file_printing_hundreds_of_mb_keeps_little_and_still_loads(tmp_path: Path) -> None:
    limits = ImportLimits(output_max_chars=8192)
    loud = write(tmp_path, "loud.py", LOUD)
    broken = write(tmp_path, "loud_broken.py", LOUD_BROKEN)
    result, failed = parse_files([loud, broken], str(tmp_path), timeout_s=60, limits=limits)
    assert [dag["dag_id"] for dag in result.dags] == ["loud"]
    # The child's own peak: the 300 MB it printed were never held (before: all of it, kept).
    assert int(result.dags[0]["doc_md"]) < 150 * 1024
    assert len(result.output) < 8192 + 100
    assert result.output.startswith("first print a")
    assert result.output.rstrip().endswith("last print " + "b" * 100)
    assert "characters cut" in result.output

    assert not failed.dags
    (error,) = failed.errors
    assert error.message.startswith("ValueError: head of the message")
    assert error.message.endswith(" end of the message")
    assert len(error.message) < 8192 + 100
    assert "characters cut" in error.message
    assert len(failed.output) < 8192 + 100


async def test_a_file_past_the_memory_limit_is_an_import_error_and_others_load(
    clean_redis: RedisServer, tmp_path: Path
) -> None:
    greedy = write(tmp_path, "greedy.py", GREEDY)
    write(tmp_path, "modest.py", MODEST)
    client = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    keys = Keys()
    settings = DagProcessorSettings(
        str(tmp_path), import_timeout_s=30, import_limits=ImportLimits(memory_mb=512)
    )
    await DagProcessor(settings, client, keys).scan()
    store = Store(client, keys)
    assert await store.dag("modest") is not None
    assert await store.dag("greedy") is None
    (error,) = (await store.import_errors())[greedy]
    assert greedy in error["message"]
    assert "memory limit" in error["message"]
    assert "512 MB" in error["message"]
    assert "AIRLANE_DAG_IMPORT_MEMORY_MB" in error["message"]
    await client.aclose()


def test_a_result_over_its_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolated, "MAX_RESULT_BYTES", 1024 * 1024)
    big = write(tmp_path, "big.py", BIG_RESULT)
    (result,) = parse_files([big], str(tmp_path), timeout_s=30)
    assert not result.dags
    assert result.errors[0].message == "The import's result exceeds 1,048,576 bytes"


def _gone(pid: int) -> bool:
    """No such process, or only its exit status left (reparented to a PID 1 that may never
    reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def test_a_process_forked_at_import_does_not_outlive_the_import(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    forks = write(tmp_path, "forks.py", FORKS.format(pid_file=str(pid_file)))
    (result,) = parse_files([forks], str(tmp_path), timeout_s=30)
    assert [dag["dag_id"] for dag in result.dags] == ["forks"]
    child = int(pid_file.read_text())
    try:
        wait_until(lambda: _gone(child), 10, f"the forked process {child} to be killed")
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)


def test_an_import_does_not_outlive_a_parent_killed_outright(tmp_path: Path) -> None:
    pid_file = tmp_path / "import.pid"
    hangs = write(tmp_path, "hangs.py", HANGS.format(pid_file=str(pid_file)))
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from airlane.dag_loader.isolated import parse_files;"
            " parse_files([sys.argv[1]], sys.argv[2], timeout_s=3600)",
            hangs,
            str(tmp_path),
        ]
    )
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text(), 30, "the import to start")
        child = int(pid_file.read_text())
        parent.kill()  # no chance to clean up: the import child is in a session of its own
        parent.wait()
        try:
            wait_until(lambda: _gone(child), 10, f"the import process {child} to be killed")
        finally:
            if not _gone(child):
                os.kill(child, signal.SIGKILL)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
