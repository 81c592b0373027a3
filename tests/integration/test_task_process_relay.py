"""One pool of one task process driven directly: a warm try sends no frame before its end (its
closing line comes with it), and the deadlines still hold (the file's import, the task's
execution_timeout by SIGALRM, an import that hangs after the file was edited under a task
without a timeout)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from airlane.service.worker import isolated_try
from airlane.service.worker.isolated_try import IsolatedResult, TryLimits, TrySink, run_isolated
from airlane.service.worker.task_pool import TaskPool
from airlane.service.worker.task_process import TaskProcessConfig
from tests.integration.cluster import RedisServer
from tests.integration.try_requests import try_request

pytestmark = pytest.mark.timeout(120)

DAG_FILE = """
import os
import threading
from datetime import timedelta
from airlane import DAG, PythonOperator


def spin():
    while True:
        pass


def exit_now(context):
    os._exit(3)


def print_later():
    # a line another thread prints while the callable runs
    threading.Timer(0.05, print, ("from a thread",)).start()
    threading.Event().wait(0.2)
    return "late"


class Hooked(PythonOperator):
    def post_execute(self, context, result=None):
        print("post_execute ran")


with DAG("relay", schedule=None) as dag:
    PythonOperator(task_id="quick", python_callable=lambda: "ran")
    PythonOperator(task_id="spin", python_callable=spin, execution_timeout=timedelta(seconds=0.3))
    PythonOperator(task_id="exits", python_callable=lambda: 7, on_success_callback=exit_now)
    Hooked(task_id="hooked", python_callable=lambda: None)
    PythonOperator(task_id="late", python_callable=print_later)
"""


def _request(fileloc: str, task_id: str) -> dict[str, Any]:
    return try_request(fileloc, "relay", task_id)


def test_warm_tries_and_every_deadline(clean_redis: RedisServer, tmp_path: Path) -> None:
    path = tmp_path / "relay.py"
    path.write_text(DAG_FILE)
    fileloc = str(path)
    lines: list[str] = []
    sink = TrySink(lines.append, lambda: 0)
    limits = TryLimits(import_timeout_s=1.0)

    async def scenario() -> None:
        config = TaskProcessConfig(clean_redis.url, "relay", None, 1024, 0, os.getpid())
        pool = TaskPool(config, max_size=1, idle_s=60)

        async def run(task_id: str) -> IsolatedResult:
            return await run_isolated(pool, _request(fileloc, task_id), sink, limits)

        try:
            first = await run("quick")
            assert first.outcome.state.value == "success", lines
            (process,) = pool._idle
            assert process.timeouts == {fileloc: {"relay": {"spin": 0.3}}}
            assert (await run("quick")).outcome.state.value == "success"
            assert pool._idle == [process]  # the same process, warm

            spun = await run("spin")  # the alarm ends it, in the task process
            assert spun.outcome.state.value == "failed"
            assert (spun.outcome.error or "").startswith("AirflowTaskTimeout: execution_timeout")
            assert pool._idle == []  # a timed-out process is not reused
            assert (await run("quick")).outcome.state.value == "success"

            # "quick" has no timeout and this process knows the file: the import it starts
            # now (the file changed) is under the import timeout again
            path.write_text("import time\ntime.sleep(3600)\n" + DAG_FILE)
            hung = await run("quick")
            assert hung.outcome.state.value == "failed"
            assert "DagBag import timeout" in (hung.outcome.error or "")
        finally:
            await pool.close()
            # the killed processes' reaping (TaskPool.discard)
            others = asyncio.all_tasks() - {asyncio.current_task()}
            await asyncio.gather(*others)  # type: ignore[misc]

    asyncio.run(scenario())


def test_a_try_closing_line_comes_with_its_end_and_before_user_code(
    clean_redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PythonOperator's "Done. Returned value" travels in the try's ``done`` frame (its worker
    wakes once per try), after every line printed before it, and goes on its own first when
    user code runs after it (a hook, a callback that ends the process)."""
    path = tmp_path / "relay.py"
    path.write_text(DAG_FILE)
    frames: list[dict[str, Any]] = []
    read = isolated_try.read_frame

    async def recording(reader: asyncio.StreamReader) -> dict[str, Any]:
        frame = await read(reader)
        frames.append(frame)
        return frame

    monkeypatch.setattr(isolated_try, "read_frame", recording)
    lines: list[str] = []
    sink = TrySink(lines.append, lambda: 0)

    async def scenario() -> dict[str, tuple[IsolatedResult, list[str], list[str]]]:
        config = TaskProcessConfig(clean_redis.url, "relay", None, 1024, 0, os.getpid())
        pool = TaskPool(config, max_size=1, idle_s=60)
        ran = {}
        try:
            for task_id in ("quick", "quick", "hooked", "late", "exits"):
                frames.clear()
                lines.clear()
                request = _request(str(path), task_id)
                result = await run_isolated(pool, request, sink, TryLimits(10.0))
                ran[task_id] = (result, [f["t"] for f in frames], list(lines))
        finally:
            await pool.close()
            others = asyncio.all_tasks() - {asyncio.current_task()}
            await asyncio.gather(*others)  # type: ignore[misc]
        return ran

    ran = asyncio.run(scenario())
    result, kinds, texts = ran["quick"]  # (warm: the second)
    assert result.outcome.state.value == "success"
    assert kinds == ["done"]
    assert texts == ["Done. Returned value was: 'ran'"]
    result, kinds, texts = ran["hooked"]
    assert texts == ["Done. Returned value was: None", "post_execute ran"]
    result, kinds, texts = ran["late"]
    assert texts == ["from a thread", "Done. Returned value was: 'late'"]
    result, kinds, texts = ran["exits"]
    assert result.outcome.state.value == "failed"
    assert texts == [
        "Done. Returned value was: 7",
        "task process exited with code 3 during the try",
    ]
