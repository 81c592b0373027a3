"""Run inside a virtualenv task's interpreter (the generated script's preamble): the task's
Variables and XComs on Redis, as its worker gives them to normal tasks.

``Variable.get`` / ``set`` / ``delete`` reach Redis (environment variables first, as on the
worker), and ``get_current_context()`` returns the task's ``ti`` (and ``task_instance``,
``run_id``), whose ``xcom_pull`` reads the run's XComs and ``xcom_push`` writes them at once.
What reaches it: :mod:`airlane.sdk.venv_access`.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from typing import Any

import redis

from airlane.queue.codec import dumps
from airlane.queue.keys import Keys, xcom_field
from airlane.sdk.connection_store import use_connection_store
from airlane.sdk.context import Context, use_context
from airlane.sdk.variable import use_variable_store
from airlane.sdk.venv_access import ACCESS_ENV
from airlane.sdk.xcom_arg import RETURN_VALUE_KEY
from airlane.service.connections.redis_store import RedisConnectionStore
from airlane.service.execution.redis_variables import RedisVariableStore
from airlane.service.execution.redis_xcom import RedisXComs
from airlane.service.execution.runtime_ti import (
    MISSING,
    XComCoordinate,
    decode_xcom,
    encode_xcom,
)

_installed = ExitStack()  # held for the life of the interpreter
_connected: list[bool] = []
XCOM_MAX_BYTES = 1024 * 1024


class VenvTaskInstance:
    """The running task instance as its virtualenv code sees it: identity and XComs."""

    def __init__(self, access: dict[str, Any], xcoms: RedisXComs) -> None:
        self.dag_id: str = access["dag_id"]
        self.run_id: str = access["run_id"]
        self.task_id: str = access["task_id"]
        self.map_index: int = int(access["map_index"])
        self.try_number: int = int(access["try_number"])
        self.xcoms = xcoms

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [running]>"

    def xcom_pull(
        self,
        task_ids: str | list[str] | None = None,
        dag_id: str | None = None,
        key: str = RETURN_VALUE_KEY,
        include_prior_dates: bool = False,
        *,
        map_indexes: int | None = None,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """Airflow's signature; in a virtualenv's process only this run's XComs are read."""
        if (dag_id or self.dag_id) != self.dag_id or (run_id or self.run_id) != self.run_id:
            raise NotImplementedError("in a virtualenv, ti.xcom_pull reads this run's XComs only")
        if include_prior_dates:
            raise NotImplementedError("in a virtualenv, ti.xcom_pull has no include_prior_dates")
        if isinstance(task_ids, list | tuple):
            return [
                self.xcom_pull(t, key=key, map_indexes=map_indexes, default=default)
                for t in task_ids
            ]
        task_id = task_ids or self.task_id
        index = -1 if map_indexes is None else map_indexes
        value = decode_xcom(self.xcoms.get(task_id, index, key), key)
        if value is MISSING and map_indexes is None:
            value = [decode_xcom(v, key) for v in self.xcoms.get_mapped(task_id, key)] or MISSING
        return default if value is MISSING else value

    def xcom_push(self, key: str, value: Any) -> None:
        coordinate = XComCoordinate(self.dag_id, self.run_id, self.task_id, self.map_index, key)
        stored = encode_xcom(value, XCOM_MAX_BYTES, f"{self.task_id} (key {key!r})", coordinate)
        x = self.xcoms
        field = xcom_field(self.map_index, key)
        x.client.hset(x.keys.xcom(x.dag_id, x.run_id, self.task_id), field, dumps(stored))


def connect() -> None:
    """Install the task's Variables, connections and context in this interpreter (once)."""
    raw = os.environ.get(ACCESS_ENV)
    if not raw or _connected:
        return
    access = json.loads(raw)
    client = redis.Redis.from_url(access["redis_url"], decode_responses=True)
    keys = Keys(access["prefix"])
    xcoms = RedisXComs(client, keys, access["dag_id"], access["run_id"], access["task_id"])
    ti = VenvTaskInstance(access, xcoms)
    context = Context(ti=ti, task_instance=ti, run_id=ti.run_id)
    _installed.enter_context(use_variable_store(RedisVariableStore(client, keys)))
    _installed.enter_context(use_connection_store(RedisConnectionStore(client, keys)))
    _installed.enter_context(use_context(context, print))
    _connected.append(True)
