"""The state stores (sdk/state_store.py) in Redis, for a try on a worker.

A task instance's keys are fields ``<map_index>|<key>`` of its task's ``task_state`` hash (one
hash per task of a run, removed with the run, as its XComs are); each value is
``{"v": value JSON, "u": set at, "x": expires at or null}``. A key that expires is also listed
in ``task_state_expiry`` (member ``<hash>\\n<field>``, scored by when), which the coordinator's
retention pass reads to remove expired keys (``remove_expired``). An asset's keys are the
fields of its ``asset_state`` hash (by name, else URI), never expiring.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis

from airlane.queue.keys import Keys
from airlane.sdk.state_store import AssetScope, Scope, TaskScope

_SEP = "\n"


def encode_record(value_json: str, set_at_s: float, expires_at_s: float | None) -> str:
    """A key's stored record (the API writes the same)."""
    return json.dumps({"v": value_json, "u": set_at_s, "x": expires_at_s})


def decode_record(raw: str) -> tuple[str, float, float | None]:
    """(value JSON, set at, expires at or None) of a stored record."""
    record = json.loads(raw)
    expires = record.get("x")
    return (
        str(record["v"]),
        float(record.get("u") or 0.0),
        None if expires is None else float(expires),
    )


def expiry_member(name: str, field: str) -> str:
    """The key's entry in ``task_state_expiry``."""
    return f"{name}{_SEP}{field}"


class RedisStateBackend:
    blocking = True

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def _where(self, scope: Scope) -> tuple[str, str]:
        """(hash key, field prefix) of a scope."""
        if isinstance(scope, TaskScope):
            name = self.keys.task_state(scope.dag_id, scope.run_id, scope.task_id)
            return name, f"{scope.map_index}|"
        assert isinstance(scope, AssetScope)
        ident = f"name:{scope.name}" if scope.name is not None else f"uri:{scope.uri}"
        return self.keys.asset_state(ident), ""

    def get(self, scope: Scope, key: str) -> str | None:
        name, prefix = self._where(scope)
        raw = self.client.hget(name, prefix + key)
        if raw is None:
            return None
        return decode_record(cast(str, raw))[0]

    def set(self, scope: Scope, key: str, value_json: str, expires_at_s: float | None) -> None:
        name, prefix = self._where(scope)
        field = prefix + key
        record = encode_record(value_json, time.time(), expires_at_s)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(name, field, record)
        member = expiry_member(name, field)
        if expires_at_s is None:
            pipe.zrem(self.keys.task_state_expiry, member)
        else:
            pipe.zadd(self.keys.task_state_expiry, {member: expires_at_s})
        pipe.execute()

    def delete(self, scope: Scope, key: str) -> None:
        name, prefix = self._where(scope)
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(name, prefix + key)
        pipe.zrem(self.keys.task_state_expiry, expiry_member(name, prefix + key))
        pipe.execute()

    def clear(self, scope: Scope) -> None:
        name, prefix = self._where(scope)
        if not prefix:
            self.client.delete(name)
            return
        fields = [f for f in cast(list[str], self.client.hkeys(name)) if f.startswith(prefix)]
        if fields:
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(name, *fields)
            pipe.zrem(self.keys.task_state_expiry, *(expiry_member(name, f) for f in fields))
            pipe.execute()


async def remove_expired(client: Any, keys: Keys, now_s: float, batch: int = 1000) -> int:
    """Remove the task state keys whose expiry has passed (the coordinator's retention pass,
    as Airflow's state store cleanup); a key set again since with a later expiry or none is
    kept (its expiry entry moved or went with that write). Returns how many it removed."""
    due = await client.zrangebyscore(keys.task_state_expiry, 0, now_s, start=0, num=batch)
    removed = 0
    for member in due:
        text = member.decode() if isinstance(member, bytes) else str(member)
        name, _, field = text.partition(_SEP)
        removed += int(
            await client.eval(_REMOVE_IF_DUE, 2, name, keys.task_state_expiry, field, text, now_s)
        )
    return removed


# KEYS: the task_state hash, task_state_expiry; ARGV: field, expiry member, now. The field goes
# only while its expiry entry is still due (a concurrent set moved or removed it otherwise).
_REMOVE_IF_DUE = """
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not score or tonumber(score) > tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
return redis.call('HDEL', KEYS[1], ARGV[1])
"""
