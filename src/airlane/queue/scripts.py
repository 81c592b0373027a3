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

# KEYS: lease. ARGV: owner, lease ttl ms, then operations, each an opcode and its arguments:
#   H key field value | D key field | X key maxlen n f1 v1 .. fn vn | A key group id
#   S key member | R key member | Z key score member | Y key member | K key | E key seconds
APPLY = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif holder ~= ARGV[1] then
  return redis.error_reply('NOLEASE')
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local i = 3
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'H' then redis.call('HSET', ARGV[i+1], ARGV[i+2], ARGV[i+3]); i = i + 4
  elseif op == 'D' then redis.call('HDEL', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'X' then
    local count = tonumber(ARGV[i+3])
    local args = {ARGV[i+1], 'MAXLEN', '~', ARGV[i+2], '*'}
    for j = 1, count * 2 do args[#args + 1] = ARGV[i + 3 + j] end
    redis.call('XADD', unpack(args)); i = i + 4 + count * 2
  elseif op == 'A' then redis.call('XACK', ARGV[i+1], ARGV[i+2], ARGV[i+3]); i = i + 4
  elseif op == 'S' then redis.call('SADD', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'R' then redis.call('SREM', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'Z' then redis.call('ZADD', ARGV[i+1], ARGV[i+2], ARGV[i+3]); i = i + 4
  elseif op == 'Y' then redis.call('ZREM', ARGV[i+1], ARGV[i+2]); i = i + 3
  elseif op == 'K' then redis.call('DEL', ARGV[i+1]); i = i + 2
  elseif op == 'E' then redis.call('EXPIRE', ARGV[i+1], ARGV[i+2]); i = i + 3
  else return redis.error_reply('bad op ' .. op) end
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
    """Writes collected by the coordinator, sent as one ``apply`` call."""

    def __init__(self) -> None:
        self.args: list[str | int | float] = []

    def __len__(self) -> int:
        return len(self.args)

    def hset(self, key: str, field: str, value: str) -> None:
        self.args += ["H", key, field, value]

    def hdel(self, key: str, field: str) -> None:
        self.args += ["D", key, field]

    def xadd(self, key: str, maxlen: int, fields: dict[str, str]) -> None:
        self.args += ["X", key, maxlen, len(fields)]
        for name, value in fields.items():
            self.args += [name, value]

    def xack(self, key: str, group: str, message_id: str) -> None:
        self.args += ["A", key, group, message_id]

    def sadd(self, key: str, member: str) -> None:
        self.args += ["S", key, member]

    def srem(self, key: str, member: str) -> None:
        self.args += ["R", key, member]

    def zadd(self, key: str, score: float, member: str) -> None:
        self.args += ["Z", key, score, member]

    def zrem(self, key: str, member: str) -> None:
        self.args += ["Y", key, member]

    def delete(self, key: str) -> None:
        self.args += ["K", key]

    def expire(self, key: str, seconds: int) -> None:
        self.args += ["E", key, seconds]
