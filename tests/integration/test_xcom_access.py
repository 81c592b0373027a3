"""A try's XCom access on a real Redis: pulls from other runs and DAGs (Airflow's ``dag_id``,
``run_id`` and ``include_prior_dates``), and the clearing of an instance's earlier tries' XComs
when a try starts, fenced by its claim. The semantics were recorded with real Airflow 3.3.2:
``xcom_pull(task_ids=t, include_prior_dates=True)`` gives every earlier run's value (a list when
there are several), with ``map_indexes`` the newest run's; another DAG's run is looked up by
this run's id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from airlane.queue.codec import dumps
from airlane.queue.keys import Keys, xcom_field
from airlane.sdk import DAG, PythonOperator
from airlane.service.execution.redis_xcom import RedisXComs
from airlane.service.execution.runtime_ti import RuntimeTaskInstance, XComWhere
from tests.integration.cluster import RedisServer

KEYS = Keys("{t}:")


@pytest.fixture
def client(clean_redis: RedisServer) -> Iterator[redis.Redis]:
    sync = redis.Redis.from_url(clean_redis.url, decode_responses=True)
    yield sync
    sync.close()


def _run(client: redis.Redis, dag_id: str, run_id: str, logical_s: float) -> None:
    client.zadd(KEYS.runs_of(dag_id), {run_id: logical_s})


def _push(
    client: redis.Redis, dag_id: str, run_id: str, task_id: str, index: int, value: Any
) -> None:
    client.hset(KEYS.xcom(dag_id, run_id, task_id), xcom_field(index, "return_value"), dumps(value))


def _history(client: redis.Redis) -> None:
    for n in (1, 2, 3):
        _run(client, "d", f"r{n}", float(n))
    _push(client, "d", "r1", "t", -1, "one")
    _push(client, "d", "r2", "t", -1, "two")
    _push(client, "d", "r1", "m", 0, "one-0")
    _push(client, "d", "r2", "m", 0, "two-0")
    _push(client, "d", "r2", "m", 1, "two-1")


def test_prior_runs_newest_first_for_an_index_oldest_first_for_all(client: redis.Redis) -> None:
    _history(client)
    xcoms = RedisXComs(client, KEYS, "d", "r3", "puller")
    assert xcoms.find(XComWhere("d", "r3", "t", "return_value", -1, prior=True)) == [(-1, "two")]
    every = xcoms.find(XComWhere("d", "r3", "t", "return_value", None, prior=True))
    assert every == [(-1, "one"), (-1, "two")]
    mapped = xcoms.find(XComWhere("d", "r3", "m", "return_value", None, prior=True))
    assert mapped == [(0, "one-0"), (0, "two-0"), (1, "two-1")]
    # only runs up to the run's logical date; this run alone without include_prior_dates
    assert xcoms.find(XComWhere("d", "r1", "t", "return_value", None, prior=True)) == [(-1, "one")]
    assert xcoms.find(XComWhere("d", "r3", "t", "return_value", None)) == []
    # a run the DAG does not have (another DAG's run id): nothing, as in Airflow
    assert xcoms.find(XComWhere("other", "r3", "t", "return_value", -1, prior=True)) == []


def test_pull_from_another_run_and_earlier_runs(client: redis.Redis, tmp_path: Any) -> None:
    _history(client)
    fileloc = tmp_path / "dag.py"
    fileloc.write_text("from airflow.sdk import DAG\n")
    with DAG("d", schedule=None) as dag:
        puller = PythonOperator(task_id="puller", python_callable=print)
    dag.fileloc = str(fileloc)
    xcoms = RedisXComs(client, KEYS, "d", "r3", "puller")
    ti = RuntimeTaskInstance(dag, puller, "r3", -1, 1, 0, None, xcoms, 10_000)
    assert ti.xcom_pull(task_ids="t") is None
    assert ti.xcom_pull(task_ids="t", run_id="r1") == "one"
    assert ti.xcom_pull(task_ids="t", include_prior_dates=True) == ["one", "two"]
    assert ti.xcom_pull(task_ids="t", include_prior_dates=True, map_indexes=-1) == "two"
    assert ti.xcom_pull(task_ids=["t", "gone"], run_id="r2") == ["two", None]
    assert ti.xcom_pull(task_ids="gone", include_prior_dates=True, map_indexes=-1, default=7) == 7
    assert ti.xcom_pull(task_ids="t", dag_id="other", include_prior_dates=True) is None
    # Airflow 3.3's async form (its reads in a thread); a misspelt keyword is refused
    assert asyncio.run(ti.axcom_pull(task_ids="t", run_id="r1")) == "one"
    with pytest.raises(TypeError):
        ti.xcom_pull(task_id="t")  # type: ignore[call-arg]
    # a file written for Airflow 2: the newest value of the puller's index
    airflow_2 = tmp_path / "dag_2.py"
    airflow_2.write_text("from airflow.operators.python import PythonOperator\n")
    dag.fileloc = str(airflow_2)
    assert ti.xcom_pull(task_ids="t", include_prior_dates=True) == "two"


def test_a_try_clears_its_instance_while_its_claim_stands(client: redis.Redis) -> None:
    _run(client, "d", "r", 1.0)
    name = KEYS.xcom("d", "r", "t")
    client.hset(name, mapping={"-1|a": dumps(1), "-1|b": dumps(2), "3|a": dumps(3)})
    claims = KEYS.claims("d", "r")
    purged: list[tuple[str, Any]] = []
    xcoms = RedisXComs(client, KEYS, "d", "r", "t")

    client.hset(claims, "t|-1", 3)  # a newer try holds the instance: nothing goes
    xcoms.clear_instance("t", -1, 2, lambda key, value: purged.append((key, value)))
    assert client.hlen(name) == 3
    assert purged == []  # (nor is anything purged: the newer try's data stays whole)

    client.hset(claims, "t|-1", 2)
    xcoms.clear_instance("t", -1, 2, lambda key, value: purged.append((key, value)))
    assert client.hgetall(name) == {"3|a": dumps(3)}  # another index's stays
    assert sorted(purged) == [("a", 1), ("b", 2)]


def test_own_pushes_show_before_the_finish_writes_them(client: redis.Redis) -> None:
    _run(client, "d", "r", 1.0)
    xcoms = RedisXComs(client, KEYS, "d", "r", "t")
    xcoms.set("t", -1, "k", "pending")
    assert xcoms.find(XComWhere("d", "r", "t", "k", -1)) == [(-1, "pending")]
    xcoms.delete("d", "r", "t", -1, "k")
    assert xcoms.find(XComWhere("d", "r", "t", "k", None)) == []
