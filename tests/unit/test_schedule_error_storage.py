"""The coordinator's schedule errors live apart from the DAG processor's import errors: the
processor rewriting a file's errors keeps the coordinator's, and the coordinator clearing its
own keeps the processor's; readers see both under the file."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.queue.store import Store, merge_import_errors
from airlane.scheduling import schedule_errors
from tests.integration.cluster import RedisServer

FILE = "/dags/weekday_dag.py"
DAG = {"dag_id": "weekday_runs", "fileloc": FILE, "lineno": 7}


def test_schedule_errors_are_listed_under_their_file_after_the_processors() -> None:
    processor = {"filename": FILE, "message": "another DAG is invalid"}
    mine = schedule_errors.entry(DAG, ValueError("no plugin"))
    other = schedule_errors.entry({**DAG, "fileloc": "/dags/b.py", "dag_id": "b"}, KeyError("k"))
    merged = merge_import_errors(
        {FILE: json.dumps([processor])},
        {"weekday_runs": json.dumps(mine), "b": json.dumps(other)},
    )
    assert merged == {FILE: [processor, mine], "/dags/b.py": [other]}
    assert mine["message"] == "DAG weekday_runs cannot be scheduled: no plugin"


async def test_the_processor_and_the_coordinator_do_not_overwrite_each_other(
    clean_redis: RedisServer,
) -> None:
    client = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    store = Store(client, Keys())
    try:
        await schedule_errors.report(store, DAG, ValueError("no plugin"))
        # the DAG processor parses the file again and rewrites its import errors
        processor = {"filename": FILE, "message": "another DAG is invalid"}
        await client.hset(Keys().import_errors, FILE, json.dumps([processor]))
        kept, mine = (await store.import_errors())[FILE]
        assert kept == processor
        assert "no plugin" in mine["message"]

        await schedule_errors.clear(store, "weekday_runs")
        assert (await store.import_errors())[FILE] == [processor]
        await client.hdel(Keys().import_errors, FILE)
        assert await store.import_errors() == {}

        await schedule_errors.report(store, DAG, ValueError("no plugin"))
        await schedule_errors.clear_others(store, {"another_dag"})  # weekday_runs is gone
        assert await store.import_errors() == {}
    finally:
        await client.aclose()
