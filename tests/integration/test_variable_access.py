"""``Variable`` in a task on a real Redis: Airflow's signatures (the description third in
``set``, ``get(default=)`` as Airflow 3 names it beside Airflow 2's ``default_var``) and Airflow
3.3's ``Variable.keys``; the REST API shows a description a task set."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import redis

from airlane.queue.keys import Keys
from airlane.sdk.variable import Variable, use_variable_store
from airlane.service.execution.redis_variables import RedisVariableStore
from tests.integration.cluster import RedisServer

KEYS = Keys("{t}:")


@pytest.fixture
def store(clean_redis: RedisServer) -> Iterator[RedisVariableStore]:
    client = redis.Redis.from_url(clean_redis.url, decode_responses=True)
    found = RedisVariableStore(client, KEYS)
    with use_variable_store(found):
        yield found
    client.close()


def test_set_takes_the_description_third_as_airflow_does(store: RedisVariableStore) -> None:
    Variable.set("bucket", "s3://data", "where the data lands")
    Variable.set("limits", {"rows": 10}, serialize_json=True)
    raw = store.client.hgetall(KEYS.variables)
    assert orjson.loads(raw["bucket"]) == {
        "value": "s3://data",
        "description": "where the data lands",
    }
    assert orjson.loads(raw["limits"]) == {"value": '{"rows":10}', "description": None}
    assert Variable.get("limits", deserialize_json=True) == {"rows": 10}


def test_get_takes_airflow_3s_default_and_airflow_2s_default_var(store: RedisVariableStore) -> None:
    assert Variable.get("missing", default="d3") == "d3"
    assert Variable.get("missing", default_var="d2") == "d2"
    assert Variable.get("missing", "positional") == "positional"
    with pytest.raises(KeyError):
        Variable.get("missing")
    with pytest.raises(TypeError):
        Variable.get("missing", default_var=1, default=2)


def test_keys_lists_the_stored_variables(
    store: RedisVariableStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_FROM_ENV", "not listed")  # (as Airflow: the database's)
    for key in ("etl_source", "etl_target", "other"):
        Variable.set(key, "x")
    assert Variable.keys() == ["etl_source", "etl_target", "other"]
    assert Variable.keys(prefix="etl_") == ["etl_source", "etl_target"]
    Variable.delete("etl_source")
    assert Variable.keys("etl_") == ["etl_target"]
