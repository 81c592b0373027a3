"""Variables for running tasks: the environment first (as Airflow), then Redis.

``Variable.get`` runs in user code, in a worker thread: a synchronous client is right here.
"""

from __future__ import annotations

from typing import cast

import orjson
import redis

from airlane.queue.keys import Keys
from airlane.sdk.variable import EnvVariableStore
from airlane.service.execution.loop_guard import refuse_on_event_loop

VARIABLES_ON_LOOP = (
    "Variable access from an async callable would block the worker's event loop; "
    "pass the value in through a template ({{ var.value.<key> }}) instead"
)


class RedisVariableStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.key_names = keys
        self.env = EnvVariableStore()

    def get(self, key: str) -> str | None:
        found = self.env.get(key)
        if found is not None:
            return found
        refuse_on_event_loop(VARIABLES_ON_LOOP)
        raw = cast(str | None, self.client.hget(self.key_names.variables, key))
        if raw is None:
            return None
        value = orjson.loads(raw).get("value")
        return None if value is None else str(value)

    def set(self, key: str, value: str, description: str | None = None) -> None:
        refuse_on_event_loop(VARIABLES_ON_LOOP)
        entry = orjson.dumps({"value": value, "description": description}).decode()
        self.client.hset(self.key_names.variables, key, entry)

    def delete(self, key: str) -> None:
        refuse_on_event_loop(VARIABLES_ON_LOOP)
        self.client.hdel(self.key_names.variables, key)

    def keys(self, prefix: str | None = None) -> list[str]:
        refuse_on_event_loop(VARIABLES_ON_LOOP)
        found = cast(list[str], self.client.hkeys(self.key_names.variables))
        return sorted(k for k in found if prefix is None or k.startswith(prefix))
