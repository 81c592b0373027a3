"""Lua scripts for the multi-key transitions. Each runs atomically inside Redis.

claim_many  (worker) task messages become this worker's tries, each at most once per try
finish_many (worker) per try: last log lines, XComs, acknowledgement, completion event
apply    (coordinator) a batch of writes, refused unless the caller holds the lease (which
         each call extends; a lapsed lease that nobody took is taken back)
create_run (API, CLI) a queued run of an existing DAG, unless the run id is taken
renew    (coordinator) extend the lease if still held, or take it back if nobody holds it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis

# KEYS: completions, worker_tasks
# ARGV: worker id, now, completions maxlen, claims as one JSON array, each
#   [tis key, claims key, ti field, try, message ref, run ref]
# Returns one 1 (claimed: the try is this worker's) or 0 (stale or duplicate) per claim. A claim
# this worker already holds for the same message answers 1 again (no second start event): a
# call whose reply was lost to a dropped connection is retried, and must not lose the try.
CLAIM_MANY = """
local results = {}
for i, c in ipairs(cjson.decode(ARGV[4])) do
  local ok = 0
  local raw = redis.call('HGET', c[1], c[3])
  if raw then
    local ti = cjson.decode(raw)
    local claimed = redis.call('HGET', c[2], c[3])
    if claimed and tonumber(claimed) == tonumber(c[4])
        and redis.call('SISMEMBER', KEYS[2], c[5]) == 1 then
      ok = 1  -- this worker's own claim, asked again after its reply was lost: still its try
    elseif ti['state'] == 'queued' and tonumber(ti['try_number']) == tonumber(c[4])
        and not (claimed and tonumber(claimed) >= tonumber(c[4])) then
      redis.call('HSET', c[2], c[3], c[4])
      redis.call('SADD', KEYS[2], c[5])
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'kind', 'started', 'run', c[6],
        'ti', c[3], 'try', c[4], 'worker', ARGV[1], 'at', ARGV[2])
      ok = 1
    end
  end
  results[i] = ok
end
return results
"""

# KEYS: completions, worker_tasks
# ARGV: group, completions maxlen, log maxlen, log retention s, finishes as one JSON array, each
#   [task stream, message id, run ref, ti field, try, outcome JSON, message ref, xcom key,
#    claims key, [xcom field, value, ...], log key, [log line, ...], set the log's expiry (0/1),
#    rendered key, rendered template fields JSON or ""]
# The try's last log lines, its XComs and rendered fields (only while its claim stands), the
# acknowledgement and the completion event are written together.
FINISH_MANY = """
for _, f in ipairs(cjson.decode(ARGV[5])) do
  redis.call('XACK', f[1], ARGV[1], f[2])
  redis.call('SREM', KEYS[2], f[7])
  for _, line in ipairs(f[12]) do
    redis.call('XADD', f[11], 'MAXLEN', '~', ARGV[3], '*', 'line', line)
  end
  if f[13] == 1 and #f[12] > 0 then redis.call('EXPIRE', f[11], ARGV[4]) end
  local claimed = redis.call('HGET', f[9], f[4])
  if claimed and tonumber(claimed) == tonumber(f[5]) then
    local xcoms = f[10]
    for i = 1, #xcoms, 2 do redis.call('HSET', f[8], xcoms[i], xcoms[i + 1]) end
    if f[15] ~= '' then redis.call('HSET', f[14], f[4], f[15]) end
  end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'finished', 'run', f[3],
    'ti', f[4], 'try', f[5], 'outcome', f[6])
end
return 1
"""

# KEYS: lease. ARGV: owner, lease ttl ms, operations as one JSON array (decoded by cjson, in C,
# which costs far less than packing each argument in the client). Each operation:
#   ["H", key, field, value] | ["D", key, field] | ["X", key, maxlen, [f1, v1, ...]]
#   ["A", key, group, [id, ...]] | ["S"|"R", key, member] | ["Z", key, score, member]
#   ["Y", key, member] | ["K", key] | ["E", key, seconds] | ["I", key, field, increment]
APPLY = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif holder ~= ARGV[1] then
  return redis.error_reply('NOLEASE')
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
for _, op in ipairs(cjson.decode(ARGV[3])) do
  local code = op[1]
  if code == 'H' then redis.call('HSET', op[2], op[3], op[4])
  elseif code == 'D' then redis.call('HDEL', op[2], op[3])
  elseif code == 'X' then
    local args = {op[2], 'MAXLEN', '~', op[3], '*'}
    for _, v in ipairs(op[4]) do args[#args + 1] = v end
    redis.call('XADD', unpack(args))
  elseif code == 'A' then redis.call('XACK', op[2], op[3], unpack(op[4]))
  elseif code == 'S' then redis.call('SADD', op[2], op[3])
  elseif code == 'R' then redis.call('SREM', op[2], op[3])
  elseif code == 'Z' then redis.call('ZADD', op[2], op[3], op[4])
  elseif code == 'Y' then redis.call('ZREM', op[2], op[3])
  elseif code == 'K' then redis.call('DEL', op[2])
  elseif code == 'E' then redis.call('EXPIRE', op[2], op[3])
  elseif code == 'I' then redis.call('HINCRBYFLOAT', op[2], op[3], op[4])
  else return redis.error_reply('bad op ' .. tostring(code)) end
end
return 1
"""

# KEYS: dags, run, runs index, active runs, commands, events
# ARGV: dag_id, run_id, score, run ref, commands maxlen, events maxlen, then run hash
#       field/value pairs
CREATE_RUN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return redis.error_reply('NODAG') end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('EXISTS') end
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'type', 'run_created', 'run', ARGV[4])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[6], '*', 'kind', 'run', 'run', ARGV[4],
  'state', 'queued')
return 1
"""

# KEYS: lease. ARGV: owner, ttl ms
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


@dataclass
class Scripts:
    """The scripts registered on one client (EVALSHA, loading them again after a restart)."""

    claim_many: Any
    finish_many: Any
    apply: Any
    renew: Any
    create_run: Any

    @classmethod
    def register(cls, client: aioredis.Redis) -> Scripts:
        return cls(
            claim_many=client.register_script(CLAIM_MANY),
            finish_many=client.register_script(FINISH_MANY),
            apply=client.register_script(APPLY),
            renew=client.register_script(RENEW),
            create_run=client.register_script(CREATE_RUN),
        )


class Batch:
    """Writes collected by the coordinator, sent as one ``apply`` call (see APPLY)."""

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []

    def __len__(self) -> int:
        return len(self.ops)

    def encode(self) -> str:
        return orjson.dumps(self.ops).decode()

    def split(self, limit: int) -> Batch:
        """Keep the first ``limit`` operations here; return the rest as a new batch."""
        rest = Batch()
        self.ops, rest.ops = self.ops[:limit], self.ops[limit:]
        return rest

    def hset(self, key: str, field: str, value: str) -> None:
        self.ops.append(["H", key, field, value])

    def hdel(self, key: str, field: str) -> None:
        self.ops.append(["D", key, field])

    def xadd(self, key: str, maxlen: int, fields: dict[str, str]) -> None:
        self.ops.append(_xadd(key, maxlen, fields))

    def replace_xadd(self, index: int, key: str, maxlen: int, fields: dict[str, str]) -> None:
        """Make operation ``index`` (an XADD of this batch) add ``fields`` instead."""
        if self.ops[index][:2] != ["X", key]:
            raise ValueError(f"operation {index} is not an XADD to {key}")
        self.ops[index] = _xadd(key, maxlen, fields)

    def xack(self, key: str, group: str, *message_ids: str) -> None:
        ids = list(message_ids)
        for start in range(0, len(ids), 1000):  # Lua's unpack() takes a few thousand at most
            self.ops.append(["A", key, group, ids[start : start + 1000]])

    def sadd(self, key: str, member: str) -> None:
        self.ops.append(["S", key, member])

    def srem(self, key: str, member: str) -> None:
        self.ops.append(["R", key, member])

    def zadd(self, key: str, score: float, member: str) -> None:
        self.ops.append(["Z", key, repr(score), member])

    def zrem(self, key: str, member: str) -> None:
        self.ops.append(["Y", key, member])

    def delete(self, key: str) -> None:
        self.ops.append(["K", key])

    def hincrbyfloat(self, key: str, field: str, increment: float) -> None:
        self.ops.append(["I", key, field, repr(float(increment))])

    def expire(self, key: str, seconds: int) -> None:
        self.ops.append(["E", key, str(seconds)])


def _xadd(key: str, maxlen: int, fields: dict[str, str]) -> list[Any]:
    flat: list[str] = []
    for name, value in fields.items():
        flat += [name, value]
    return ["X", key, str(maxlen), flat]
