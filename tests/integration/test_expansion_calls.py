"""A run's expansion written in several pipelined apply calls, and a coordinator that dies
between two of them: the next coordinator queues every instance exactly once.

The coordinators run in this process on a real Redis (as bench/expansion_profile.py runs one);
the calls are made small (CALL_OPS) so that a 120-task run takes several.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pytest

from airlane.queue import typed
from airlane.queue.codec import decode_ti
from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.protocol import RunCreated
from airlane.queue.scripts import Apply
from airlane.queue.store import RunRequest, Store
from airlane.sdk.timezone import utcnow
from airlane.service.coordinator import outbox
from airlane.service.coordinator.loop import Coordinator
from airlane.service.coordinator.settings import CoordinatorSettings
from airlane.service.dag_processor import DagProcessor, DagProcessorSettings
from tests.integration.cluster import RedisServer

TASKS = 120
DAG_ID = "wide_calls"
DAG_FILE = f"""
from airflow import DAG
from airflow.operators.python import PythonOperator

def noop():
    pass

with DAG({DAG_ID!r}, schedule=None, max_active_tasks=1000, is_paused_upon_creation=False):
    for i in range({TASKS}):
        PythonOperator(task_id=f"t{{i:03d}}", python_callable=noop)
"""


async def _expand(url: str, run_id: str, calls_made: int | None) -> int:
    """One coordinator creates and expands a run; only its first ``calls_made`` apply calls
    reach Redis (None: all of them), then it stops. Returns how many calls reached Redis."""
    client = connect(url)
    coordinator = Coordinator(CoordinatorSettings(url), client, Keys())
    s = coordinator.session
    assert await coordinator.lease.acquire()
    await s.admission.load_pools()
    when = utcnow()
    await Store(client, coordinator.keys).create_run(
        RunRequest(DAG_ID, run_id, when, when, when, {})
    )
    scripts = coordinator.lease.scripts
    apply_one, apply_many = scripts.apply, getattr(scripts, "apply_many", None)
    made: list[Apply] = []

    def reaching(calls: Iterable[Apply]) -> Iterator[Apply]:
        for call in calls:
            if calls_made is not None and len(made) == calls_made:
                return
            made.append(call)
            yield call

    async def one(call: Apply) -> None:
        for reached in reaching([call]):
            await apply_one(reached)

    async def many(calls: Iterable[Apply]) -> None:
        assert apply_many is not None
        await apply_many(reaching(calls))

    object.__setattr__(scripts, "apply", one)  # (a frozen dataclass)
    object.__setattr__(scripts, "apply_many", many)
    await s.events.on_command(RunCreated(run=f"{DAG_ID}|{run_id}"))
    s.progress.drain_ready()
    await s.flush()  # (the calls past the last made are encoded, never sent: as if killed)
    await client.delete(coordinator.keys.lease)  # its lease lapses
    await client.aclose()
    return len(made)


async def _recover(url: str, run_id: str) -> None:
    """A new coordinator takes over, until every instance of the run is queued."""
    client = connect(url)
    keys = Keys()
    coordinator = Coordinator(CoordinatorSettings(url, check_interval_s=0.1), client, keys)
    stop = asyncio.Event()
    task = asyncio.create_task(coordinator.run(stop))
    try:
        deadline = time.monotonic() + 20
        while await _queued_records(client, keys, run_id) < TASKS:
            assert time.monotonic() < deadline, "the run's instances were not all queued"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await asyncio.gather(*coordinator.alarm._tasks)  # its last wake-ups, on this client
        await client.aclose()


async def _queued_records(client: object, keys: Keys, run_id: str) -> int:
    raw = await typed.hgetall(client, keys.tis(DAG_ID, run_id))  # type: ignore[arg-type]
    return sum(1 for value in raw.values() if decode_ti(value)[0].state.value == "queued")


@pytest.fixture(scope="module")
def processed(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The wide DAG stored once (by a DAG processor in this process) for the module's tests."""
    redis_server.flush()
    folder = tmp_path_factory.mktemp("dags")
    (folder / "wide_calls.py").write_text(DAG_FILE)

    async def scan() -> None:
        client = connect(redis_server.url)
        settings = DagProcessorSettings(str(folder), import_timeout_s=30)
        assert await DagProcessor(settings, client, Keys()).scan() == 1
        await Store(client, Keys()).set_pool("default_pool", 10_000)
        await client.aclose()

    asyncio.run(scan())
    return redis_server.url


@pytest.mark.parametrize("calls_made", [None, 0, 1, 3])
async def test_each_instance_is_queued_once_whatever_call_the_coordinator_died_after(
    processed: str, calls_made: int | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(outbox, "CALL_OPS", 50, raising=False)
    monkeypatch.setattr(outbox, "MAX_BATCH_OPS", 50)  # (before calls of their own: the same)
    run_id = f"calls_{calls_made}_{time.time_ns()}"
    calls = await _expand(processed, run_id, calls_made)
    if calls_made is None:
        assert calls >= 4  # 120 messages and 120 events in calls of about 50 operations
    await _recover(processed, run_id)
    client = connect(processed)
    keys = Keys()
    messages = await typed.xrange(client, keys.queue("default"), "-", "+")
    decoded = [orjson.loads(fields["m"]) for _, fields in messages]
    by_task = Counter(m[2] for m in decoded if m[1] == run_id)
    assert len(by_task) == TASKS
    assert set(by_task.values()) == {1}, by_task
    if calls_made is None:  # in the order they went, over the calls
        assert [m[2] for m in decoded if m[1] == run_id] == sorted(by_task)
    ref = f"{DAG_ID}|{run_id}"
    events = await typed.xrange(client, keys.events, "-", "+")
    queued = Counter(
        f["ti"] for _, f in events if f.get("run") == ref and "ti" in f and f["state"] == "queued"
    )
    assert len(queued) == TASKS
    assert set(queued.values()) == {1}, queued  # its queued event, exactly once
    await client.aclose()
