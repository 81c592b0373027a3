"""XCom entries written or removed through the API (workers write theirs when a try ends)."""

from __future__ import annotations

from typing import Any

from airlane.queue.codec import dumps
from airlane.queue.keys import xcom_field
from airlane.queue.store import Store


async def add_xcom(
    store: Store, ident: tuple[str, str, str, int], key: str, value: Any, *, replace: bool
) -> bool:
    """Set ``key`` of the instance ``(dag_id, run_id, task_id, map_index)``; without
    ``replace`` only if it has none (False when it had one)."""
    dag_id, run_id, task_id, map_index = ident
    name, field = store.keys.xcom(dag_id, run_id, task_id), xcom_field(map_index, key)
    if replace:
        await store.client.hset(name, field, dumps(value))
        return True
    return bool(await store.client.hsetnx(name, field, dumps(value)))


async def delete_xcom(store: Store, ident: tuple[str, str, str, int], key: str) -> bool:
    dag_id, run_id, task_id, map_index = ident
    name = store.keys.xcom(dag_id, run_id, task_id)
    return bool(await store.client.hdel(name, xcom_field(map_index, key)))
