"""XComs in Redis for a running try: reads go to Redis, writes wait in memory for ``finish``.

Reads are synchronous (user code calls ``ti.xcom_pull`` from its thread); the task runner
prepares tasks in a thread when the store is ``blocking``, so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any, cast

import redis

from airlane.queue.codec import dumps, loads
from airlane.queue.keys import Keys, parse_xcom_field, ti_field, xcom_field
from airlane.queue.scripts.finish import CLEAR_TRY_XCOMS
from airlane.service.execution.runtime_ti import MISSING, PurgeFn, XComWhere

#: runs read at once when looking through earlier runs (``include_prior_dates``)
PRIOR_PAGE = 200


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

    def find(self, where: XComWhere) -> list[tuple[int, Any]]:
        self._check_thread()
        if not where.prior:
            return self._entries(where, where.run_id)
        score = self.client.zscore(self.keys.runs_of(where.dag_id), where.run_id)
        if score is None:
            return []
        found: list[tuple[int, int, Any]] = []  # (index, age: 0 the newest run, value)
        offset = 0
        while True:
            page = cast(
                list[str],
                self.client.zrevrangebyscore(
                    self.keys.runs_of(where.dag_id), score, "-inf", start=offset, num=PRIOR_PAGE
                ),
            )
            for age, run_id in enumerate(page, start=offset):
                entries = self._entries(where, run_id)
                if entries and where.map_index is not None:
                    return entries  # the newest run's
                found += [(index, age, value) for index, value in entries]
            if len(page) < PRIOR_PAGE:
                break
            offset += PRIOR_PAGE
        # by index, then the oldest run first (Airflow's order: map index, then as stored)
        found.sort(key=lambda entry: (entry[0], -entry[1]))
        return [(index, value) for index, _, value in found]

    def _entries(self, where: XComWhere, run_id: str) -> list[tuple[int, Any]]:
        """The stored values of ``where``'s task and key in ``run_id`` (with this try's own
        pushes, not written yet, over its instance's)."""
        name = self.keys.xcom(where.dag_id, run_id, where.task_id)
        if where.map_index is not None:
            raw = self.client.hget(name, xcom_field(where.map_index, where.key))
            stored = {where.map_index: raw} if raw is not None else {}
        else:
            stored = {}
            for field, value in cast(dict[str, str], self.client.hgetall(name)).items():
                index, key = parse_xcom_field(field)
                if key == where.key:
                    stored[index] = value
        if (where.dag_id, run_id, where.task_id) == (self.dag_id, self.run_id, self.task_id):
            with self._lock:
                for field, value in self.pending.items():
                    index, key = parse_xcom_field(field)
                    if key == where.key and where.map_index in (None, index):
                        stored[index] = value
        return sorted((index, loads(value)) for index, value in stored.items())

    def delete(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> None:
        field = xcom_field(map_index, key)
        if (dag_id, run_id, task_id) == (self.dag_id, self.run_id, self.task_id):
            with self._lock:
                self.pending.pop(field, None)
        self._check_thread()
        self.client.hdel(self.keys.xcom(dag_id, run_id, task_id), field)

    def clear_instance(
        self, task_id: str, map_index: int, try_number: int, purge: PurgeFn | None
    ) -> None:
        """Remove what the instance's earlier tries stored, while ``try_number`` is its claimed
        try (CLEAR_TRY_XCOMS: a try a newer one replaced removes nothing), then have a custom
        backend purge what the removed values referred to (Airflow purges first; here a stale
        try must not purge a newer try's data, so only what the fenced removal took goes)."""
        self._check_thread()
        name = self.keys.xcom(self.dag_id, self.run_id, task_id)
        mine = f"{map_index}|"
        fields = [
            field
            for field, _ in cast(
                Iterable[tuple[str, str]], self.client.hscan_iter(name, match=f"{mine}*")
            )
            if field.startswith(mine)
        ]
        if not fields:
            return
        claims = self.keys.claims(self.dag_id, self.run_id)
        instance = ti_field(task_id, map_index)
        gone = self.client.eval(CLEAR_TRY_XCOMS, 2, name, claims, instance, try_number, *fields)
        if purge is None or not isinstance(gone, list):
            return
        for field, value in zip(gone[::2], gone[1::2], strict=True):
            purge(parse_xcom_field(str(field))[1], loads(value))

    def pending_pairs(self) -> list[str]:
        with self._lock:
            pairs: list[str] = []
            for field, value in self.pending.items():
                pairs += [field, value]
            return pairs
