"""A run's conf, read by workers from the run's hash once per run (task messages omit it).

A run's conf is fixed when the run is created (``Store.create_run``; clearing, marking, notes
and the coordinator only ever write other fields of the run hash), so a worker keeps it: one
HGET per run per worker, not one per try. A run deleted and created again under the same id
may carry another conf, so entries are keyed by the run's creation time as well, which every
task message carries (``TaskMessage.run_queued_at``). The cache is bounded in runs and bytes,
least recently used out first. Each try parses its own copy, as it parsed the conf of its
message before: a task that changes ``dag_run.conf`` changes nothing for the next try.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

import pendulum
import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.codec import loads
from airlane.queue.keys import Keys
from airlane.queue.messages import TaskMessage
from airlane.service.execution.context_builder import RunInfo

MAX_CACHED_RUNS = 256
#: confs kept by one worker, in bytes of JSON (one conf larger than this is kept alone)
MAX_CACHED_BYTES = 32 * 1024 * 1024

_cache: OrderedDict[tuple[str, str], str] = OrderedDict()
#: the length of the confs in ``_cache`` (kept as entries come and go, not summed per miss)
_cached_bytes = 0


async def run_conf(client: aioredis.Redis, keys: Keys, message: TaskMessage) -> dict[str, Any]:
    """The conf of the run of ``message`` (``{}`` for a run that is gone or has none)."""
    found = cached_run_conf(keys, message)
    if found is not None:
        return found
    run_key = keys.run(message.dag_id, message.run_id)
    raw = await typed.hget(client, run_key, "conf") or "{}"
    _remember((run_key, message.run_queued_at), raw)
    return _parsed(raw)


def cached_run_conf(keys: Keys, message: TaskMessage) -> dict[str, Any] | None:
    """The conf of the run of ``message`` when this worker has it already, else None."""
    entry = (keys.run(message.dag_id, message.run_id), message.run_queued_at)
    raw = _cache.get(entry)
    if raw is None:
        return None
    _cache.move_to_end(entry)
    return _parsed(raw)


def _parsed(raw: str) -> dict[str, Any]:
    """A copy of its own for each try (most runs have no conf: no parse then)."""
    if raw == "{}":
        return {}
    found = loads(raw)
    return found if isinstance(found, dict) else {}


def needs_asset_events(message: TaskMessage) -> bool:
    """Whether the try's run was triggered by assets (``with_asset_events`` has some to add)."""
    return message.run_type == "asset_triggered"


async def with_asset_events(
    client: aioredis.Redis, keys: Keys, message: TaskMessage, info: RunInfo
) -> RunInfo:
    """``info`` with the events that triggered an asset-triggered run (its hash's
    ``asset_events``, written with the run: queue/asset_runs.py) and its ``run_after`` (such a
    run has no logical date); other runs have none."""
    if not needs_asset_events(message):
        return info
    run_key = keys.run(message.dag_id, message.run_id)
    raw, run_after = await client.hmget(run_key, ["asset_events", "run_after"])
    found = loads(raw or "[]")
    if run_after:
        parsed = pendulum.parse(str(run_after))
        if isinstance(parsed, pendulum.DateTime):
            info = replace(info, run_after=parsed)
    return replace(info, asset_events=tuple(found)) if isinstance(found, list) else info


def _remember(entry: tuple[str, str], raw: str) -> None:
    global _cached_bytes
    _cached_bytes += len(raw) - len(_cache.get(entry, ""))
    _cache[entry] = raw
    while len(_cache) > 1 and (len(_cache) > MAX_CACHED_RUNS or _cached_bytes > MAX_CACHED_BYTES):
        _, dropped = _cache.popitem(last=False)
        _cached_bytes -= len(dropped)


def cached_runs() -> int:
    """How many runs' confs are kept (tests)."""
    return len(_cache)
