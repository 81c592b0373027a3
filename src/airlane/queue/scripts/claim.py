"""``claim_many`` (worker): task messages become this worker's tries, each at most once per try."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from airlane.queue.keys import Keys, ti_field
from airlane.queue.messages import STREAM_MAXLEN
from airlane.queue.scripts.wire import KeyTable, ScriptArgs, run_keys


@dataclass(frozen=True, slots=True)
class Claim:
    """One try a worker asks to start, for the task message it read."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    #: the message's claim reference (protocol.ClaimRef), kept in ``worker_tasks`` while it runs
    message_ref: str
    #: the try resumes from deferral: the claim answers its ``resumes`` entry
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class ClaimMany:
    """Claims of one worker, answered together (see CLAIM_MANY for the Lua side)."""

    worker_id: str
    now_s: float
    claims: tuple[Claim, ...]
    completions_maxlen: int = STREAM_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        table = KeyTable(keys.completions, keys.worker_tasks(self.worker_id))
        claims = [_wire(keys, table, c) for c in self.claims]
        args: list[str | int | float] = [
            self.worker_id,
            repr(self.now_s),
            self.completions_maxlen,
            orjson.dumps(claims).decode(),
        ]
        return ScriptArgs(table.keys, args)


def _wire(keys: Keys, table: KeyTable, c: Claim) -> dict[str, object]:
    run = run_keys(keys, c.dag_id, c.run_id)
    wired: dict[str, object] = {
        "tis": table.position(run.tis),
        "claims": table.position(run.claims),
        "ti": ti_field(c.task_id, c.map_index),
        "try": str(c.try_number),
        "message_ref": c.message_ref,
        "run": run.ref,
    }
    if c.resumed:
        wired["resumes"] = table.position(keys.resumes)
    return wired


# An instance record's state and try number (the two keys codec.encode_ti writes first: read
# from the record's start, not decoded; a record written otherwise, as the fast path's
# cjson.encode writes it, its keys in any order, is decoded). Shared by CLAIM_MANY and
# FINISH_MANY (scripts/finish.py).
RECORD_STATE = """
local function record_state(raw)
  local state, try = string.match(raw, '^{"state":"([%w_]+)","try_number":(%d+)[,}]')
  if state then return state, tonumber(try) end
  local ti = cjson.decode(raw)
  return ti['state'], tonumber(ti['try_number'])
end
"""

# The claim itself: the try's number in the run's ``claims`` hash, its ClaimRef in the worker's
# ``worker_tasks`` set (KEYS[2]) and the ``started`` event on ``completions`` (KEYS[1]). Shared
# by CLAIM_MANY and FINISH_MANY (a fast-path successor claimed for the finishing worker,
# scripts/finish.py), whose KEYS begin alike.
CLAIM_TRY = """
local function claim_try(c)
  redis.call('HSET', c.claims, c.ti, c.try)
  redis.call('SADD', KEYS[2], c.ref)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', c.maxlen, '*', 'kind', 'started', 'run', c.run,
    'ti', c.ti, 'try', c.try, 'worker', c.worker, 'at', c.at)
end
"""

# KEYS: completions, worker_tasks of the worker, then the tis and claims hashes of the runs
# ARGV: worker id, now (epoch s), completions maxlen, the claims as one JSON array of objects
#   {tis: KEYS index, claims: KEYS index, ti: ti field, try (text), message_ref, run: run ref}
#   and, for a resumed try, resumes: the KEYS index of ``resumes``
# Returns one 1 (claimed: the try is this worker's) or 0 (stale or duplicate) per claim; a
# claimed resumed try answers its ``resumes`` entry (JSON text) instead of 1, when there is one.
# A claim
# this worker already holds for the same message answers 1 again (no second start event): a
# call whose reply was lost to a dropped connection is retried, and must not lose the try.
CLAIM_MANY = """
${RECORD_STATE}
${CLAIM_TRY}
local results = {}
for i, c in ipairs(cjson.decode(ARGV[4])) do
  local ok = 0
  local tis, claims = KEYS[c.tis], KEYS[c.claims]
  local raw = redis.call('HGET', tis, c.ti)
  if raw then
    local state, try_number = record_state(raw)
    local claimed = redis.call('HGET', claims, c.ti)
    if claimed and tonumber(claimed) == tonumber(c.try)
        and redis.call('SISMEMBER', KEYS[2], c.message_ref) == 1 then
      ok = 1  -- this worker's own claim, asked again after its reply was lost: still its try
    elseif state == 'queued' and try_number == tonumber(c.try)
        and not (claimed and tonumber(claimed) >= tonumber(c.try)) then
      claim_try({claims = claims, ti = c.ti, try = c.try, ref = c.message_ref,
        maxlen = ARGV[3], run = c.run, worker = ARGV[1], at = ARGV[2]})
      ok = 1
    end
  end
  results[i] = ok
  if ok == 1 and c.resumes then
    local resume = redis.call('HGET', KEYS[c.resumes], c.run .. '|' .. c.ti .. '|' .. c.try)
    if resume then results[i] = resume end
  end
end
return results
""".replace("${CLAIM_TRY}", CLAIM_TRY).replace("${RECORD_STATE}", RECORD_STATE)
