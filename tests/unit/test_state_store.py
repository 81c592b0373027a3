"""The state stores' accessors (sdk/state_store.py) on the in-memory backend ``dags test`` uses;
tests/integration/test_state_store_redis.py runs the Redis backend, and the behaviour DAG
tests/dags/behaviour/state_store.py both end to end."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest

from airlane.sdk.assets import Asset
from airlane.sdk.state_store import (
    NEVER_EXPIRE,
    AssetStateStoreAccessor,
    AssetStateStoreAccessors,
    InMemoryStateBackend,
    TaskScope,
    TaskStateStoreAccessor,
    use_state_backend,
)

SCOPE = TaskScope("d", "r", "t", -1)


class Recording(InMemoryStateBackend):
    def __init__(self) -> None:
        super().__init__()
        self.expiries: dict[str, float | None] = {}

    def set(self, scope: Any, key: str, value_json: str, expires_at_s: float | None) -> None:
        super().set(scope, key, value_json, expires_at_s)
        self.expiries[key] = expires_at_s


def test_a_task_s_keys_are_set_read_deleted_and_cleared() -> None:
    backend = Recording()
    store = TaskStateStoreAccessor(SCOPE)
    with use_state_backend(backend):
        assert store.get("job") is None
        assert store.get("job", default="none") == "none"
        store.set("job", {"id": "job-42", "pages": [1, 2]})
        assert store.get("job") == {"id": "job-42", "pages": [1, 2]}
        store.set("n", 3)
        store.delete("n")
        store.delete("never set")
        assert store.get("n") is None
        store.clear()
        assert store.get("job") is None
        with pytest.raises(ValueError, match="Cannot set value as None"):
            store.set("job", None)
        with pytest.raises(TypeError, match="JSON values"):
            store.set("job", {1, 2})


def test_retention_sets_the_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = Recording()
    store = TaskStateStoreAccessor(SCOPE)
    now = time.time()
    with use_state_backend(backend):
        store.set("forever", 1, retention=NEVER_EXPIRE)
        store.set("hour", 1, retention=timedelta(hours=1))
        store.set("default", 1)
        monkeypatch.setenv("AIRFLOW__STATE_STORE__DEFAULT_RETENTION_DAYS", "0")
        store.set("no expiry by config", 1)
        monkeypatch.setenv("AIRFLOW__STATE_STORE__DEFAULT_RETENTION_DAYS", "-1")
        with pytest.raises(ValueError, match="must be >= 0"):
            store.set("bad", 1)
    assert backend.expiries["forever"] is None
    assert backend.expiries["no expiry by config"] is None
    assert backend.expiries["hour"] == pytest.approx(now + 3600, abs=5)
    assert backend.expiries["default"] == pytest.approx(now + 30 * 86400, abs=5)


def test_async_methods_reach_the_backend_and_sync_ones_refuse_a_loop() -> None:
    class Blocking(InMemoryStateBackend):
        blocking = True

    backend = Blocking()
    store = TaskStateStoreAccessor(SCOPE)

    async def use() -> Any:
        await store.aset("done", [1, 2], retention=NEVER_EXPIRE)
        with pytest.raises(RuntimeError, match="await aget"):
            store.get("done")
        found = await store.aget("done")
        await store.adelete("done")
        await store.aset("other", 1)
        await store.aclear()
        return found, await store.aget("other")

    with use_state_backend(backend):
        assert asyncio.run(use()) == ([1, 2], None)


def test_asset_accessors_by_asset_and_alone() -> None:
    orders = Asset(name="orders", uri="s3://w/orders")
    users = Asset(name="users", uri="s3://w/users")
    backend = InMemoryStateBackend()
    both = AssetStateStoreAccessors([orders], [users, orders])
    with use_state_backend(backend):
        both[orders].set("watermark", "2024-01-01")
        assert both[orders].get("watermark") == "2024-01-01"
        assert AssetStateStoreAccessor(name="orders").get("watermark") == "2024-01-01"
        with pytest.raises(ValueError, match="2 concrete inlets and outlets"):
            both.get("watermark")
        with pytest.raises(KeyError, match="not in this task's inlets or outlets"):
            both[Asset(name="other", uri="s3://w/other")]
        single = AssetStateStoreAccessors([], [orders])
        assert single.get("watermark") == "2024-01-01"
        single.clear()
        assert single.get("watermark") is None
    assert json.loads(json.dumps(len(both))) == 2
