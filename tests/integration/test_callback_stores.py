"""A DAG callback reads Variables and connections as a task on a worker does: the ones stored
in Redis (through the API, the CLI or the UI) are found, not only those in the environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pendulum
import pytest
import redis
import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.sdk.connection import Connection
from airlane.service.callbacks.callback_process import CallbackRequest, run_request
from airlane.service.connections.redis_store import ConnectionsAdmin
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.redis_variables import RedisVariableStore
from tests.integration.cluster import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

DAG_FILE = """
from pathlib import Path
import pendulum
from airflow.hooks.base import BaseHook
from airflow.models import Variable
from airflow.sdk import DAG
from airflow.operators.empty import EmptyOperator

def report(context):
    conn = BaseHook.get_connection("warehouse")
    Path({out!r}).write_text(f"{{Variable.get('region')}} {{conn.host}} {{conn.password}}")

with DAG("cb_stores", start_date=pendulum.datetime(2025, 1, 1), schedule=None,
         on_failure_callback=report):
    EmptyOperator(task_id="t")
"""


def test_a_dag_callback_reads_stored_variables_and_connections(
    clean_redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRLANE_REDIS_PREFIX", raising=False)
    keys = Keys.from_env()
    out = tmp_path / "out.txt"
    dag_file = tmp_path / "cb_stores.py"
    dag_file.write_text(DAG_FILE.format(out=str(out)))
    RedisVariableStore(redis.Redis.from_url(clean_redis.url, decode_responses=True), keys).set(
        "region", "eu-west"
    )
    asyncio.run(_store_connection(clean_redis.url, keys))
    when = pendulum.datetime(2025, 1, 1, tz="UTC")
    run = RunInfo("cb_stores", "manual__1", when, when, when)
    request = CallbackRequest(
        redis_url=clean_redis.url,
        dags_folder=str(tmp_path),
        fileloc=str(dag_file),
        success=False,
        reason="task_failure",
        run=run,
        last=None,
    )
    result = run_request(request)
    assert result == {"done": [0], "errors": []}
    assert out.read_text() == "eu-west db.internal pw-123456"


async def _store_connection(url: str, keys: Keys) -> None:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        conn = Connection(
            conn_id="warehouse", conn_type="postgres", host="db.internal", password="pw-123456"
        )
        await ConnectionsAdmin(client, keys).put(conn)
    finally:
        await client.aclose()
