"""The DAG processor against a real Redis: new, changed, broken and deleted files."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.queue.store import Store
from airlane.service.dag_processor import DagProcessor, DagProcessorSettings
from tests.integration.cluster import RedisServer

DAG_FILE = """
    from airflow import DAG
    from airflow.operators.empty import EmptyOperator

    with DAG("{dag_id}", schedule=None, is_paused_upon_creation={paused}) as dag:
        EmptyOperator(task_id="{task_id}")
"""


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))
    stamp = time.time() + 1  # a new mtime even within the same clock tick
    os.utime(path, (stamp, stamp))


async def test_processor_tracks_the_folder(clean_redis: RedisServer, tmp_path: Path) -> None:
    client = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    keys = Keys()
    store = Store(client, keys)
    processor = DagProcessor(DagProcessorSettings(str(tmp_path), import_timeout_s=5), client, keys)
    write(tmp_path / "one.py", DAG_FILE.format(dag_id="one", task_id="a", paused=None))
    write(tmp_path / "two.py", DAG_FILE.format(dag_id="two", task_id="a", paused=False))
    assert await processor.scan() == 2
    first = await store.dag("one")
    assert first is not None
    assert [t["task_id"] for t in first["tasks"]] == ["a"]
    assert await store.is_paused("one")  # paused when first seen
    assert not await store.is_paused("two")  # is_paused_upon_creation=False
    assert await processor.scan() == 0  # nothing changed, nothing parsed
    files = await store.dag_files()
    await store.request_parse(files["two"])  # (PUT /parseDagFile)
    assert await processor.scan() == 1  # parsed as asked, once
    assert await processor.scan() == 0

    write(tmp_path / "one.py", DAG_FILE.format(dag_id="one", task_id="b", paused=None))
    (tmp_path / "broken.py").write_text("from airflow import DAG\nraise ValueError('nope')\n")
    assert await processor.scan() == 2
    changed = await store.dag("one")
    assert changed is not None
    assert changed["hash"] != first["hash"]
    assert [t["task_id"] for t in changed["tasks"]] == ["b"]
    assert await client.exists(keys.dag_snapshot(first["hash"]))  # old versions stay for old runs
    errors = await store.import_errors()
    assert list(errors) == [str(tmp_path / "broken.py")]
    assert errors[str(tmp_path / "broken.py")][0]["lineno"] == 2

    (tmp_path / "two.py").unlink()
    (tmp_path / "broken.py").unlink()
    await processor.scan()
    assert await client.sismember(keys.inactive, "two")
    assert not await client.sismember(keys.inactive, "one")
    assert await store.import_errors() == {}
    await client.aclose()
