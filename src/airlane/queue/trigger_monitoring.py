"""What the triggerers and the stored triggers look like now: read from Redis for ``/metrics``,
the health check and the task instances' ``trigger`` field. Reads only.

Keys (queue/keys.py): ``triggerers`` (each triggerer's status JSON: running, capacity,
events_fired, blocked, last_block_s, at), ``triggers`` (trigger key -> {c: classpath, k: kwargs
JSON text, w: waiters}), ``trigger_leases`` (trigger key scored by its lease's expiry, epoch
ms; 0: never claimed), ``trigger_owners`` (trigger key -> triggerer id), ``deferred``
(instance -> {t: trigger key, ...}) and ``resumes`` (fired, not yet resumed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from airlane.queue import typed
from airlane.queue.codec import loads
from airlane.queue.keys import deferred_field
from airlane.queue.protocol import decoded_or_none
from airlane.queue.store import Store

log = logging.getLogger("airlane.monitoring")

#: a triggerer whose status is older than this is not counted as alive
TRIGGERER_STALE_S = 30.0


@dataclass(frozen=True, slots=True)
class TriggererInfo:
    triggerer_id: str
    running: int
    capacity: int
    events_fired: int
    blocked: int
    last_block_s: float
    heartbeat_at_s: float
    alive: bool


@dataclass(frozen=True, slots=True)
class TriggerBacklog:
    """The stored triggers: how many, how many have no live lease (waiting for a triggerer),
    how long the most overdue lease has lapsed, and fired triggers whose tries wait to resume."""

    stored: int
    unclaimed: int
    overdue_s: float
    resumes_pending: int


@dataclass(frozen=True, slots=True)
class DeferredTrigger:
    """The trigger a deferred instance waits on, and the triggerer holding it (if any)."""

    key: str
    classpath: str
    kwargs_json: str
    triggerer: TriggererInfo | None


def triggerer_info(
    triggerer_id: str, raw: str, now_s: float, stale_s: float = TRIGGERER_STALE_S
) -> TriggererInfo:
    data = loads(raw)
    beat = float(data.get("at") or 0)
    return TriggererInfo(
        triggerer_id=triggerer_id,
        running=int(data.get("running") or 0),
        capacity=int(data.get("capacity") or 0),
        events_fired=int(data.get("events_fired") or 0),
        blocked=int(data.get("blocked") or 0),
        last_block_s=float(data.get("last_block_s") or 0.0),
        heartbeat_at_s=beat,
        alive=now_s - beat <= stale_s,
    )


async def triggerers(store: Store, now_s: float) -> list[TriggererInfo]:
    """Every triggerer that left a status, alive or not, by id."""
    raw = await typed.hgetall(store.client, store.keys.triggerers)
    found = (_status_or_none(tid, raw[tid], now_s) for tid in sorted(raw))
    return [info for info in found if info is not None]


def _status_or_none(triggerer_id: str, raw: str, now_s: float) -> TriggererInfo | None:
    return decoded_or_none(
        lambda r: triggerer_info(triggerer_id, r, now_s), raw, "triggerer status", log
    )


async def backlog(store: Store, now_s: float) -> TriggerBacklog:
    keys, client = store.keys, store.client
    now_ms = int(now_s * 1000)
    pipe = client.pipeline(transaction=False)
    pipe.hlen(keys.triggers)
    pipe.zcount(keys.trigger_leases, "-inf", now_ms)
    pipe.zrangebyscore(keys.trigger_leases, 1, now_ms, start=0, num=1, withscores=True)
    pipe.hlen(keys.resumes)
    stored, unclaimed, oldest, pending = await pipe.execute()
    overdue_s = max(0.0, now_s - float(oldest[0][1]) / 1000) if oldest else 0.0
    return TriggerBacklog(int(stored), int(unclaimed), overdue_s, int(pending))


async def deferred_triggers(
    store: Store, dag_id: str, run_id: str, instances: list[tuple[str, int]], now_s: float
) -> dict[tuple[str, int], DeferredTrigger]:
    """The triggers the given (deferred) instances wait on; an instance whose deferral record
    is gone (resumed meanwhile) is left out."""
    if not instances:
        return {}
    client, keys = store.client, store.keys
    fields = [deferred_field(dag_id, run_id, task_id, index) for task_id, index in instances]
    records = await client.hmget(keys.deferred, fields)
    found: dict[tuple[str, int], DeferredTrigger] = {}
    for instance, raw in zip(instances, records, strict=True):
        if raw is None:
            continue
        key = str(loads(raw).get("t") or "")
        pipe = client.pipeline(transaction=False)
        pipe.hget(keys.triggers, key)
        pipe.hget(keys.trigger_owners, key)
        trigger_raw, owner = await pipe.execute()
        if trigger_raw is None:
            continue
        trigger = loads(trigger_raw)
        status = await client.hget(keys.triggerers, owner) if owner else None
        holder = triggerer_info(str(owner), str(status), now_s) if status else None
        found[instance] = DeferredTrigger(
            key, str(trigger.get("c", "")), str(trigger.get("k", "{}")), holder
        )
    return found


__all__ = [
    "DeferredTrigger",
    "TriggerBacklog",
    "TriggererInfo",
    "backlog",
    "deferred_triggers",
    "triggerer_info",
    "triggerers",
]
