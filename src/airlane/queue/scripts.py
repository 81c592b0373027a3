"""Lua scripts for the multi-key transitions. Each runs atomically inside Redis.

claim    (worker) a task message becomes this worker's try, at most once per try
finish   (worker) record XComs, acknowledge the message, emit the completion event
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

# KEYS: tis, claims, completions, worker_tasks
# ARGV: ti field, try, worker id, now, message ref, run ref, completions maxlen
CLAIM = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ti = cjson.decode(raw)
if ti['state'] ~= 'queued' or tonumber(ti['try_number']) ~= tonumber(ARGV[2]) then return 0 end
local claimed = redis.call('HGET', KEYS[2], ARGV[1])
if claimed and tonumber(claimed) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'kind', 'started', 'run', ARGV[6],
  'ti', ARGV[1], 'try', ARGV[2], 'worker', ARGV[3], 'at', ARGV[4])
return 1
"""

# KEYS: task stream, completions, worker_tasks, xcom hash, claims
# ARGV: group, message id, run ref, ti field, try, outcome JSON, message ref, completions maxlen,
#       then XCom field/value pairs
FINISH = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[7])
local claimed = redis.call('HGET', KEYS[5], ARGV[4])
if claimed and tonumber(claimed) == tonumber(ARGV[5]) then
  for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'kind', 'finished', 'run', ARGV[3],
  'ti', ARGV[4], 'try', ARGV[5], 'outcome', ARGV[6])
return 1
"""

# KEYS: lease. ARGV: owner, lease ttl ms, operations as one JSON array (decoded by cjson, in C,
# which costs far less than packing each argument in the client). Each operation:
#   ["H", key, field, value] | ["D", key, field] | ["X", key, maxlen, [f1, v1, ...]]
#   ["A", key, group, id] | ["S"|"R", key, member] | ["Z", key, score, member]
#   ["Y", key, member] | ["K", key] | ["E", key, seconds]
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
  elseif code == 'A' then redis.call('XACK', op[2], op[3], op[4])
  elseif code == 'S' then redis.call('SADD', op[2], op[3])
  elseif code == 'R' then redis.call('SREM', op[2], op[3])
  elseif code == 'Z' then redis.call('ZADD', op[2], op[3], op[4])
  elseif code == 'Y' then redis.call('ZREM', op[2], op[3])
  elseif code == 'K' then redis.call('DEL', op[2])
  elseif code == 'E' then redis.call('EXPIRE', op[2], op[3])
  else return redis.error_reply('bad op ' .. tostring(code)) end
end
return 1
"""

# KEYS: dags, run, runs index, active runs, commands
# ARGV: dag_id, run_id, score, run ref, commands maxlen, then run hash field/value pairs
CREATE_RUN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return redis.error_reply('NODAG') end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('EXISTS') end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'type', 'run_created', 'run', ARGV[4])
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

    claim: Any
    finish: Any
    apply: Any
    renew: Any
    create_run: Any

    @classmethod
    def register(cls, client: aioredis.Redis) -> Scripts:
        return cls(
            claim=client.register_script(CLAIM),
            finish=client.register_script(FINISH),
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
        flat: list[str] = []
        for name, value in fields.items():
            flat += [name, value]
        self.ops.append(["X", key, str(maxlen), flat])

    def xack(self, key: str, group: str, message_id: str) -> None:
        self.ops.append(["A", key, group, message_id])

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

    def expire(self, key: str, seconds: int) -> None:
        self.ops.append(["E", key, str(seconds)])
