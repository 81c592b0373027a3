"""``renew`` (coordinator): extend the lease if still held, or take it back if nobody holds it."""

from __future__ import annotations

from dataclasses import dataclass

from airlane.queue.keys import Keys
from airlane.queue.scripts.wire import ScriptArgs


@dataclass(frozen=True, slots=True)
class Renew:
    """The coordinator ``owner`` keeps (or takes back) the lease (see RENEW for the Lua side)."""

    owner: str
    lease_ttl_ms: int

    def encode(self, keys: Keys) -> ScriptArgs:
        return ScriptArgs([keys.lease], [self.owner, self.lease_ttl_ms])


# KEYS: lease. ARGV: owner, ttl ms. Returns 1 when the owner holds the lease now, else 0.
RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
