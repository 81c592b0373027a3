"""A pool of more than one task process forks them from its template: they run tries, a try
that exits or is killed ends only its own process (with its code), and a template that dies
takes its task processes along and is started again for the next one."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from airlane.service.batch_scheduling import runs_batch
from airlane.service.worker.isolated_try import IsolatedResult, TryLimits, TrySink, run_isolated
from airlane.service.worker.task_forks import ForkedProc
from airlane.service.worker.task_pool import TaskPool
from airlane.service.worker.task_process import TaskProcessConfig
from tests.integration.cluster import RedisServer
from tests.integration.try_requests import try_request

pytestmark = pytest.mark.timeout(120)

DAG_FILE = """
import os
from airlane import DAG, PythonOperator

with DAG("forks", schedule=None) as dag:
    PythonOperator(task_id="pid", python_callable=os.getpid)
    PythonOperator(task_id="exits", python_callable=lambda: os._exit(7))
    PythonOperator(task_id="waits", python_callable=lambda: __import__("time").sleep(60))
"""


def _request(fileloc: str, task_id: str) -> dict[str, Any]:
    return try_request(fileloc, "forks", task_id)


def test_forked_task_processes(clean_redis: RedisServer, tmp_path: Path) -> None:
    path = tmp_path / "forks.py"
    path.write_text(DAG_FILE)
    lines: list[str] = []
    sink = TrySink(lines.append, lambda: 0)
    limits = TryLimits(import_timeout_s=30.0)

    async def scenario() -> None:
        config = TaskProcessConfig(clean_redis.url, "forks", None, 1024, 0, os.getpid())
        pool = TaskPool(config, max_size=4, idle_s=60)

        async def run(task_id: str) -> IsolatedResult:
            return await run_isolated(pool, _request(str(path), task_id), sink, limits)

        try:
            first = await run("pid")
            assert first.outcome.state.value == "success", lines
            (process,) = pool._idle
            assert isinstance(process.proc, ForkedProc)
            assert pool._template is not None
            template = pool._template.result()
            assert _parent(process.pid) == template.proc.pid

            exited = await run("exits")
            assert exited.outcome.error == "task process exited with code 7 during the try"

            waiting = asyncio.create_task(run("waits"))
            await _until(lambda: bool(pool._busy))
            (busy,) = pool._busy
            os.kill(busy.pid, signal.SIGKILL)
            killed = await waiting
            assert "killed by SIGKILL" in (killed.outcome.error or "")

            # the template dies: its idle task processes with it; the next try gets a new one
            idle = await pool.acquire()
            pool.release(idle)
            os.kill(template.proc.pid, signal.SIGKILL)
            assert await asyncio.wait_for(idle.proc.wait(), 10) == -signal.SIGKILL
            again = await run("pid")
            assert again.outcome.state.value == "success", lines
            assert pool._template.result() is not template
        finally:
            await pool.close()
            others = asyncio.all_tasks() - {asyncio.current_task()}
            await asyncio.gather(*others, return_exceptions=True)

    asyncio.run(scenario())


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


async def _until(condition: Any) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not met")


@pytest.mark.parametrize(
    ("batch", "max_size"),
    [(True, 2), (True, 1), (False, 2)],
    ids=["forked-batch", "started-batch", "forked-ordinary"],
)
def test_task_processes_run_under_sched_batch_when_asked(
    clean_redis: RedisServer, tmp_path: Path, batch: bool, max_size: int
) -> None:
    """SCHED_BATCH (service/batch_scheduling.py): a task process, forked from its template or
    started on its own (a pool of one), and the template; ordinary when it is off."""
    path = tmp_path / "forks.py"
    path.write_text(DAG_FILE)
    lines: list[str] = []

    async def scenario() -> None:
        config = replace(
            TaskProcessConfig(clean_redis.url, "forks", None, 1024, 0, os.getpid()),
            batch_scheduling=batch,
        )
        pool = TaskPool(config, max_size=max_size, idle_s=60)
        try:
            result = await run_isolated(
                pool, _request(str(path), "pid"), TrySink(lines.append, lambda: 0), TryLimits(30)
            )
            assert result.outcome.state.value == "success", lines
            (process,) = pool._idle
            assert runs_batch(process.pid) is batch
            assert isinstance(process.proc, ForkedProc) is (max_size > 1)
            if pool._template is not None:
                assert runs_batch(pool._template.result().proc.pid) is batch
        finally:
            await pool.close()

    asyncio.run(scenario())
