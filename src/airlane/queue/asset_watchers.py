"""Leases of asset watchers (``asset_watcher_leases``, ``asset_watcher_owners``): which
triggerer runs each watcher trigger.

As the deferral triggers' leases (queue/scripts/triggers.py): one sorted set scores each
watcher by its lease's expiry; every triggerer, in one call, renews the watchers it runs,
gives back those no longer wanted, and takes wanted ones whose lease expired (never held, or
held by a triggerer that stopped renewing: taken over within one lease time). Each triggerer
computes the same wanted set from the asset registry (service/triggerer/watcher_plan.py), so
a watcher runs on one triggerer at a time. A lease that lapsed (its triggerer stopped) on a
watcher no longer wanted is dropped by the next round, so neither key keeps watchers of the past.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis.asyncio as aioredis

from airlane.queue.keys import Keys

# KEYS: asset_watcher_leases, asset_watcher_owners.
# ARGV: triggerer id, now (epoch ms), lease ms, most to take, wanted keys (JSON), held (JSON).
# Returns {keys to stop, keys taken}.
LEASE_WATCHERS = """
local me, now, lease, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local wanted = {}
for _, key in ipairs(cjson.decode(ARGV[5])) do wanted[key] = true end
local held = {}
local stop = {}
for _, key in ipairs(cjson.decode(ARGV[6])) do
  held[key] = true
  local mine = redis.call('HGET', KEYS[2], key) == me
  if mine and wanted[key] then
    redis.call('ZADD', KEYS[1], now + lease, key)
  else
    if mine then
      redis.call('ZREM', KEYS[1], key)
      redis.call('HDEL', KEYS[2], key)
    end
    stop[#stop + 1] = key
  end
end
local taken = {}
for key, _ in pairs(wanted) do
  if #taken >= limit then break end
  if not held[key] then
    local score = redis.call('ZSCORE', KEYS[1], key)
    if not score or tonumber(score) <= now then
      redis.call('ZADD', KEYS[1], now + lease, key)
      redis.call('HSET', KEYS[2], key, me)
      taken[#taken + 1] = key
    end
  end
end
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  if not wanted[key] then
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[2], key)
  end
end
return {stop, taken}
"""


@dataclass(frozen=True, slots=True)
class LeaseWatchers:
    """One round of a triggerer's watcher leases (see LEASE_WATCHERS)."""

    triggerer_id: str
    now_ms: int
    lease_ms: int
    limit: int
    wanted: Sequence[str]
    held: Sequence[str]


class WatcherLeases:
    """The lease script registered on one client."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.keys = keys
        self.client = client
        self._script = client.register_script(LEASE_WATCHERS)

    async def round(self, call: LeaseWatchers) -> tuple[list[str], list[str]]:
        """(keys to stop running, keys now ours)."""
        args: list[Any] = [
            call.triggerer_id,
            call.now_ms,
            call.lease_ms,
            call.limit,
            orjson.dumps(list(call.wanted)).decode(),
            orjson.dumps(list(call.held)).decode(),
        ]
        keys = [self.keys.asset_watcher_leases, self.keys.asset_watcher_owners]
        stop, taken = cast(list[list[Any]], await self._script(keys=keys, args=args))
        return [_text(k) for k in stop], [_text(k) for k in taken]

    async def release(self, triggerer_id: str, held: Sequence[str]) -> None:
        """Stopping: give every held watcher back at once (another triggerer takes it)."""
        if held:
            await self.round(LeaseWatchers(triggerer_id, 0, 0, 0, (), held))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
