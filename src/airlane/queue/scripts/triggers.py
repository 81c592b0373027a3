"""The triggerer's scripts: claim expired trigger leases, renew held ones, fire triggers, time
out deferred tries.

Leases: one sorted set, ``trigger_leases``, scores each trigger by its lease's expiry (epoch
ms; 0 for a trigger no triggerer has held). A triggerer claims the triggers whose score is past
(new ones, and those of a triggerer that stopped renewing: a dead one's triggers are taken over
within one lease time), and renews all of its own in one call. ``trigger_owners`` says who holds
each: a triggerer that lost one (taken over while it was paused) learns it at its next renewal,
and cannot fire it meanwhile (FIRE_TRIGGERS checks the owner), so every deferred try resumes
once. A trigger lives while a try waits on it: one cleared or marked meanwhile (its
``deferred`` entry removed by the coordinator) no longer counts, and a trigger left with no
waiter is dropped by the next claim or renewal.

Every call touches the same fixed keys, in this order (KEYS): triggers, trigger_leases,
trigger_owners, deferred, trigger_timeouts, resumes, completions, triggerers.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from airlane.queue.keys import Keys
from airlane.queue.messages import STREAM_MAXLEN
from airlane.queue.scripts.wire import ScriptArgs


def trigger_keys(keys: Keys) -> list[str]:
    return [
        keys.triggers,
        keys.trigger_leases,
        keys.trigger_owners,
        keys.deferred,
        keys.trigger_timeouts,
        keys.resumes,
        keys.completions,
        keys.triggerers,
    ]


@dataclass(frozen=True, slots=True)
class ClaimTriggers:
    """Take up to ``limit`` triggers whose lease expired (see CLAIM_TRIGGERS)."""

    triggerer_id: str
    now_ms: int
    lease_ms: int
    limit: int

    def encode(self, keys: Keys) -> ScriptArgs:
        args: list[str | int | float] = [self.triggerer_id, self.now_ms, self.lease_ms, self.limit]
        return ScriptArgs(trigger_keys(keys), args)


#: a triggerer's status is forgotten this many lease times after its last renewal (one
#: SIGKILLed never removes its own), and never sooner than FORGET_MIN_S
FORGET_AFTER_LEASES = 10
FORGET_MIN_S = 60.0


@dataclass(frozen=True, slots=True)
class RenewTriggers:
    """Extend the leases of ``held``; answers those lost or gone (see RENEW_TRIGGERS). Also
    writes the caller's status and forgets the statuses older than :meth:`forget_before_s`."""

    triggerer_id: str
    now_ms: int
    lease_ms: int
    held: tuple[str, ...]
    status_json: str

    def encode(self, keys: Keys) -> ScriptArgs:
        held = orjson.dumps(list(self.held)).decode()
        args: list[str | int | float] = [
            self.triggerer_id,
            self.now_ms,
            self.lease_ms,
            held,
            self.status_json,
            self.forget_before_s(),
        ]
        return ScriptArgs(trigger_keys(keys), args)

    def forget_before_s(self) -> float:
        """Epoch s: a triggerer status whose ``at`` is older is removed (dead triggerers)."""
        keep_s = max(FORGET_AFTER_LEASES * self.lease_ms / 1000, FORGET_MIN_S)
        return self.now_ms / 1000 - keep_s


@dataclass(frozen=True, slots=True)
class Fire:
    """A trigger's end: ``method`` "" resumes its tries as they asked, with ``event_json`` (the
    event's payload, serde JSON); else they resume in ``method`` with ``kwargs_json`` instead
    (``__fail__`` after a failure, ``__end__`` for an event that ends the task).

    A try may end where its trigger fired instead (its deferral's ``q``, see
    service.execution.deferral.EndsHere): in ``end_state`` when set (an end event without
    XComs) and ``q`` >= 1; ``success`` on a plain event when ``q`` is 2."""

    key: str
    event_json: str = ""
    method: str = ""
    kwargs_json: str = ""
    end_state: str = ""


@dataclass(frozen=True, slots=True)
class FireTriggers:
    """Resume every live try waiting on each trigger, if this triggerer holds it."""

    triggerer_id: str
    fires: tuple[Fire, ...]
    completions_maxlen: int = STREAM_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        fires = [
            {"key": f.key, "e": f.event_json, "m": f.method, "n": f.kwargs_json, "s": f.end_state}
            for f in self.fires
        ]
        args: list[str | int | float] = [
            self.triggerer_id,
            self.completions_maxlen,
            orjson.dumps(fires).decode(),
        ]
        return ScriptArgs(trigger_keys(keys), args)


@dataclass(frozen=True, slots=True)
class TimeOutDeferred:
    """Resume the deferred tries past their trigger timeout in ``__fail__`` (``kwargs_json``)."""

    now_s: float
    limit: int
    kwargs_json: str
    completions_maxlen: int = STREAM_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        args: list[str | int | float] = [
            repr(self.now_s),
            self.completions_maxlen,
            self.limit,
            self.kwargs_json,
        ]
        return ScriptArgs(trigger_keys(keys), args)


_COMMON = """
local function live_waiters(t)
  local live = {}
  for _, w in ipairs(t.w) do
    local raw = redis.call('HGET', KEYS[4], w.d)
    if raw then
      local d = cjson.decode(raw)
      if tostring(d.try) == tostring(w.y) and d.t == t.key then live[#live + 1] = {w, d} end
    end
  end
  return live
end
local function drop(key)
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZREM', KEYS[2], key)
  redis.call('HDEL', KEYS[3], key)
end
local function load(key)
  local raw = redis.call('HGET', KEYS[1], key)
  if not raw then return nil end
  local t = cjson.decode(raw)
  t.key = key
  return t
end
local function end_here(d, field, state, maxlen)
  redis.call('HDEL', KEYS[4], field)
  redis.call('ZREM', KEYS[5], field)
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', maxlen, '*', 'kind', 'resumed', 'run', d.run,
    'ti', d.ti, 'try', tostring(d.try), 'end', state)
end
local function resume(d, field, m, n, e, maxlen)
  redis.call('HSET', KEYS[6], field .. '|' .. tostring(d.try), cjson.encode({m = m, n = n, e = e}))
  redis.call('HDEL', KEYS[4], field)
  redis.call('ZREM', KEYS[5], field)
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', maxlen, '*', 'kind', 'resumed', 'run', d.run,
    'ti', d.ti, 'try', tostring(d.try))
end
"""

# ARGV: triggerer id, now (epoch ms), lease ms, most triggers to take.
# Returns key, classpath, kwargs JSON, key, ... of the triggers now this triggerer's.
CLAIM_TRIGGERS = (
    _COMMON
    + """
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])
for _, key in ipairs(due) do
  local t = load(key)
  if not t or #live_waiters(t) == 0 then
    drop(key)
  else
    redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), key)
    redis.call('HSET', KEYS[3], key, ARGV[1])
    out[#out + 1] = key
    out[#out + 1] = t.c
    out[#out + 1] = t.k
  end
end
return out
"""
)

# ARGV: triggerer id, now (epoch ms), lease ms, the keys it holds (JSON array), its status JSON,
# the epoch s before which another triggerer's status (its ``at``) is stale and removed.
# Returns the keys it must stop running: taken over by another triggerer, fired, or left with
# no waiter (dropped here).
RENEW_TRIGGERS = (
    _COMMON
    + """
local gone = {}
local expiry = tonumber(ARGV[2]) + tonumber(ARGV[3])
for _, key in ipairs(cjson.decode(ARGV[4])) do
  local t = load(key)
  if not t or redis.call('HGET', KEYS[3], key) ~= ARGV[1] then
    gone[#gone + 1] = key
  else
    local live = live_waiters(t)
    if #live == 0 then
      drop(key)
      gone[#gone + 1] = key
    else
      if #live < #t.w then
        local kept = {}
        for i, pair in ipairs(live) do kept[i] = pair[1] end
        redis.call('HSET', KEYS[1], key, cjson.encode({c = t.c, k = t.k, w = kept}))
      end
      redis.call('ZADD', KEYS[2], expiry, key)
    end
  end
end
redis.call('HSET', KEYS[8], ARGV[1], ARGV[5])
local cutoff = tonumber(ARGV[6])
local statuses = redis.call('HGETALL', KEYS[8])
for i = 1, #statuses, 2 do
  local ok, status = pcall(cjson.decode, statuses[i + 1])
  local at = ok and type(status) == 'table' and tonumber(status.at) or nil
  if statuses[i] ~= ARGV[1] and (at == nil or at < cutoff) then
    redis.call('HDEL', KEYS[8], statuses[i])
  end
end
return gone
"""
)

# ARGV: triggerer id, completions maxlen, the fires as one JSON array of objects {key, e: event
# JSON or "", m: method or "", n: kwargs JSON or "", s: end state or ""}.
# Returns how many tries resumed or ended. A trigger this triggerer does not hold is left alone.
# A try ends here (no ``resumes`` entry; its ``resumed`` completion says ``end <state>``) as
# Fire says.
FIRE_TRIGGERS = (
    _COMMON
    + """
local resumed = 0
for _, f in ipairs(cjson.decode(ARGV[3])) do
  local t = load(f.key)
  if t and redis.call('HGET', KEYS[3], f.key) == ARGV[1] then
    for _, pair in ipairs(live_waiters(t)) do
      local w, d = pair[1], pair[2]
      local q = tonumber(d.q) or 0
      if f.s ~= nil and f.s ~= '' and q >= 1 then
        end_here(d, w.d, f.s, ARGV[2])
      elseif f.m == '' and q >= 2 then
        end_here(d, w.d, 'success', ARGV[2])
      else
        local m, n = d.m, d.n
        if f.m ~= '' then m, n = f.m, f.n end
        resume(d, w.d, m, n, f.e, ARGV[2])
      end
      resumed = resumed + 1
    end
    drop(f.key)
  end
end
return resumed
"""
)

# ARGV: now (epoch s), completions maxlen, most tries to time out, the __fail__ kwargs JSON.
# Returns how many tries timed out.
TIME_OUT_DEFERRED = (
    _COMMON
    + """
local count = 0
local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, field in ipairs(due) do
  local raw = redis.call('HGET', KEYS[4], field)
  if raw then
    resume(cjson.decode(raw), field, '__fail__', ARGV[4], '', ARGV[2])
    count = count + 1
  else
    redis.call('ZREM', KEYS[5], field)
  end
end
return count
"""
)

SOURCES = {
    "claim_triggers": CLAIM_TRIGGERS,
    "renew_triggers": RENEW_TRIGGERS,
    "fire_triggers": FIRE_TRIGGERS,
    "time_out_deferred": TIME_OUT_DEFERRED,
}
