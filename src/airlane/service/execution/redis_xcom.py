"""XComs in Redis for a running try: reads go to Redis, writes wait in memory for ``finish``.

Reads are synchronous (user code calls ``ti.xcom_pull`` from its thread); the task runner
prepares tasks in a thread when the store is ``blocking``, so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import redis

from airlane.queue.codec import dumps, loads
from airlane.queue.keys import Keys, parse_xcom_field, xcom_field
from airlane.service.execution.runtime_ti import MISSING


class RedisXComs:
    """XCom access of one task try."""

    blocking = True

    def __init__(
        self, client: redis.Redis, keys: Keys, dag_id: str, run_id: str, task_id: str
    ) -> None:
        self.client = client
        self.keys = keys
        self.dag_id = dag_id
        self.run_id = run_id
        self.task_id = task_id
        self.pending: dict[str, str] = {}
        self._lock = threading.Lock()

    def _check_thread(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise RuntimeError(
            "ti.xcom_pull() from an async callable would block the worker's event loop; "
            "pull XComs through the callable's arguments instead"
        )

    def get(self, task_id: str, map_index: int, key: str) -> Any:
        field = xcom_field(map_index, key)
        if task_id == self.task_id:
            with self._lock:
                if field in self.pending:
                    return loads(self.pending[field])
        self._check_thread()
        raw = self.client.hget(self.keys.xcom(self.dag_id, self.run_id, task_id), field)
        return MISSING if raw is None else loads(raw)

    def get_mapped(self, task_id: str, key: str) -> list[Any]:
        self._check_thread()
        raw = cast(
            dict[str, str], self.client.hgetall(self.keys.xcom(self.dag_id, self.run_id, task_id))
        )
        found = []
        for field, value in raw.items():
            index, name = parse_xcom_field(field)
            if name == key and index >= 0:
                found.append((index, loads(value)))
        return [value for _, value in sorted(found)]

    def set(self, task_id: str, map_index: int, key: str, value: Any) -> None:
        with self._lock:
            self.pending[xcom_field(map_index, key)] = dumps(value)

    def pending_pairs(self) -> list[str]:
        with self._lock:
            pairs: list[str] = []
            for field, value in self.pending.items():
                pairs += [field, value]
            return pairs
