"""``finish_many`` (worker): per try, its last log lines, XComs, acknowledgement and completion."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from airlane.queue.keys import WORKER_GROUP, Keys, deferred_field, run_ref, ti_field
from airlane.queue.messages import STREAM_MAXLEN
from airlane.queue.scripts.wire import KeyTable, ScriptArgs


@dataclass(frozen=True, slots=True)
class Finish:
    """One try that ended, with what it leaves behind."""

    #: the task stream (a ``Keys.queue`` key) and id of the message the try came from
    stream: str
    message_id: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    #: how it ended, as ``codec.encode_outcome`` JSON
    outcome_json: str
    #: the message's claim reference (protocol.ClaimRef), removed from ``worker_tasks``
    message_ref: str
    #: the try's XComs, flat: field, value, field, value...
    xcom_pairs: tuple[str, ...] = ()
    #: log lines not written yet, and whether the log's expiry is set with them
    log_lines: tuple[str, ...] = ()
    set_log_expiry: bool = False
    #: the try's rendered template fields as JSON ("" when it rendered none)
    rendered_json: str = ""
    #: a deferred try: its trigger (service.execution.deferral.Deferral JSON), else ""
    deferral_json: str = ""
    #: the try was resumed by its trigger: its ``resumes`` entry is removed
    resumed: bool = False
    #: the fast path (engine/fast_path.py): the try's own task message (its ``m`` field), the
    #: template of a successor's; "" when the fast path is off
    fast_template: str = ""

    def wire(self, keys: Keys, table: KeyTable) -> dict[str, object]:
        wired = self._wire(keys, table)
        field = deferred_field(self.dag_id, self.run_id, self.task_id, self.map_index)
        if self.resumed:
            wired["resumes"] = table.position(keys.resumes)
            wired["resumed"] = f"{field}|{self.try_number}"
        if self.deferral_json:
            wired["defer"] = self.deferral_json
            wired["deferred_field"] = field
            wired["tis"] = table.position(keys.tis(self.dag_id, self.run_id))
            for name in ("triggers", "trigger_leases", "deferred", "trigger_timeouts"):
                wired[name] = table.position(getattr(keys, name))
        if self.fast_template and self.map_index < 0:
            wired["template"] = self.fast_template
            wired["plan"] = table.position(keys.fast_plan(self.dag_id, self.run_id))
            wired["tis"] = table.position(keys.tis(self.dag_id, self.run_id))
            wired["run_key"] = table.position(keys.run(self.dag_id, self.run_id))
        return wired

    def _wire(self, keys: Keys, table: KeyTable) -> dict[str, object]:
        return {
            "stream": table.position(self.stream),
            "message_id": self.message_id,
            "run": run_ref(self.dag_id, self.run_id),
            "ti": ti_field(self.task_id, self.map_index),
            "try": str(self.try_number),
            "outcome": self.outcome_json,
            "message_ref": self.message_ref,
            "claims": table.position(keys.claims(self.dag_id, self.run_id)),
            "xcom": table.position(keys.xcom(self.dag_id, self.run_id, self.task_id)),
            "xcoms": list(self.xcom_pairs),
            "log": table.position(
                keys.log(self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number)
            ),
            "lines": list(self.log_lines),
            "expire_log": 1 if self.set_log_expiry else 0,
            "rendered_key": table.position(keys.rendered(self.dag_id, self.run_id)),
            "rendered": self.rendered_json,
        }


@dataclass(frozen=True, slots=True)
class FinishMany:
    """Tries of one worker that ended, reported together (see FINISH_MANY for the Lua side)."""

    worker_id: str
    finishes: tuple[Finish, ...]
    log_maxlen: int
    log_retention_s: int
    group: str = WORKER_GROUP
    completions_maxlen: int = STREAM_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        table = KeyTable(keys.completions, keys.worker_tasks(self.worker_id))
        finishes = [finish.wire(keys, table) for finish in self.finishes]
        args: list[str | int | float] = [
            self.group,
            self.completions_maxlen,
            self.log_maxlen,
            self.log_retention_s,
            orjson.dumps(finishes).decode(),
        ]
        return ScriptArgs(table.keys, args)


# The trigger a deferred try waits on joins the ``triggers`` hash (an identical trigger already
# there gains a waiter: deduplicated), unleased (score 0) when new, so that a triggerer claims it.
# Only while the try is its instance's current one in the stored record (queued or running, that
# try): one the coordinator already moved on from (cleared, marked, its run ended or deleted)
# leaves no trigger that a triggerer could claim before the coordinator forgets the deferral.
DEFER_TRY = """
local function current_try(f)
  local raw = redis.call('HGET', KEYS[f.tis], f.ti)
  if not raw then return false end
  local ti = cjson.decode(raw)
  return tonumber(ti['try_number']) == tonumber(f.try)
    and (ti['state'] == 'queued' or ti['state'] == 'running')
end
local function defer_try(f)
  if not current_try(f) then return end
  local d = cjson.decode(f.defer)
  local triggers = KEYS[f.triggers]
  local raw = redis.call('HGET', triggers, d.key)
  local t
  if raw then t = cjson.decode(raw) else t = {c = d.c, k = d.k, w = {}} end
  local waiters = {}
  for _, w in ipairs(t.w) do
    if not (w.d == f.deferred_field and w.y == f.try) then waiters[#waiters + 1] = w end
  end
  waiters[#waiters + 1] = {d = f.deferred_field, y = f.try}
  t.w = waiters
  redis.call('HSET', triggers, d.key, cjson.encode(t))
  redis.call('ZADD', KEYS[f.trigger_leases], 'NX', 0, d.key)
  redis.call('HSET', KEYS[f.deferred], f.deferred_field, cjson.encode(
    {t = d.key, run = f.run, ti = f.ti, try = f.try, m = d.m, n = d.n, q = d.q}))
  if d.timeout_at_s ~= cjson.null and d.timeout_at_s ~= nil then
    redis.call('ZADD', KEYS[f.trigger_timeouts], d.timeout_at_s, f.deferred_field)
  else
    redis.call('ZREM', KEYS[f.trigger_timeouts], f.deferred_field)
  end
end
"""

# The fast path (engine/fast_path.py): a success queues the first candidate of its plan whose
# other upstream instances succeeded (as stored) and whose instance is fresh (state none, not
# claimed at its next try), while the run is running: its record becomes queued at its next try
# and its task message (the finished try's, with the successor's task, try and max tries) goes
# to the finished try's task stream. Returns "<ti field>|<try>" of the successor, or nil.
FAST_PATH = """
local function fresh_successor(f, cand)
  for _, up in ipairs(cand[2]) do
    local raw = redis.call('HGET', KEYS[f.tis], up)
    if not raw or cjson.decode(raw)['state'] ~= 'success' then return nil end
  end
  local raw = redis.call('HGET', KEYS[f.tis], cand[1])
  if not raw then return nil end
  local ti = cjson.decode(raw)
  if ti['state'] ~= 'none' then return nil end
  local claimed = redis.call('HGET', KEYS[f.claims], cand[1])
  if claimed and tonumber(claimed) > tonumber(ti['try_number']) then return nil end
  return ti
end
local function queue_successor(f, field, ti, maxlen)
  local try = tonumber(ti['try_number']) + 1
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  ti['state'] = 'queued'
  ti['try_number'] = try
  ti['queued_at'] = now
  redis.call('HSET', KEYS[f.tis], field, cjson.encode(ti))
  local m = cjson.decode(f.template)
  m[3] = string.sub(field, 1, -4)  -- the task id: a plan's fields end in "|-1"
  m[5] = try
  m[6] = tonumber(ti['max_tries'])
  m[13] = now
  m[14] = cjson.null
  m[15] = false
  redis.call('XADD', KEYS[f.stream], 'MAXLEN', '~', maxlen, '*', 'm', cjson.encode(m))
  return field .. '|' .. try
end
local function fast_path(f, maxlen)
  local o = cjson.decode(f.outcome)
  if o['state'] ~= 'success' or o['follow'] ~= cjson.null
      or o['short_circuit'] ~= cjson.null then return nil end
  if redis.call('HGET', KEYS[f.run_key], 'state') ~= 'running' then return nil end
  local raw = redis.call('HGET', KEYS[f.plan], f.ti)
  if not raw then return nil end
  for _, cand in ipairs(cjson.decode(raw)) do
    local ti = fresh_successor(f, cand)
    if ti then return queue_successor(f, cand[1], ti, maxlen) end
  end
  return nil
end
"""

# KEYS: completions, worker_tasks of the worker, then the streams, claims, XCom, log and
#   rendered keys of the tries
# ARGV: group, completions maxlen, log maxlen, log retention s, the finishes as one JSON array
#   of objects (Finish.wire): {stream: KEYS index, message_id, run: run ref, ti: ti field, try
#   (text), outcome: outcome JSON, message_ref, claims: KEYS index, xcom: KEYS index, xcoms:
#   [field, value, ...], log: KEYS index, lines: [log line, ...], expire_log: 0/1,
#   rendered_key: KEYS index, rendered: rendered fields JSON or ""}
#   and, for a resumed try: resumes: KEYS index, resumed: its resumes field; for a deferred try:
#   defer: Deferral JSON, deferred_field, triggers, trigger_leases, deferred, trigger_timeouts,
#   tis (the run's task instance records): KEYS indexes; with the fast path: template (the
#   try's task message JSON), plan, tis, run_key (the run's hash): KEYS indexes
# The try's last log lines, its XComs and rendered fields (only while its claim stands), the
# acknowledgement and the completion event are written together; a deferred try's trigger too
# (DEFER_TRY below: first delivery only, while its claim stands). A replay (the message already
# acknowledged) keeps a resumed try's resume entry and sends no deferred completion again.
FINISH_MANY = """
${DEFER_TRY}
${FAST_PATH}
for _, f in ipairs(cjson.decode(ARGV[5])) do
  local fast = nil
  local log = KEYS[f.log]
  local acked = redis.call('XACK', KEYS[f.stream], ARGV[1], f.message_id)
  -- a replay (acked 0: the reply to the first call was lost) leaves the resume entry alone:
  -- a try that deferred again may have been resumed anew meanwhile
  if f.resumed and acked == 1 then redis.call('HDEL', KEYS[f.resumes], f.resumed) end
  redis.call('SREM', KEYS[2], f.message_ref)
  for _, line in ipairs(f.lines) do
    redis.call('XADD', log, 'MAXLEN', '~', ARGV[3], '*', 'line', line)
  end
  if f.expire_log == 1 and #f.lines > 0 then redis.call('EXPIRE', log, ARGV[4]) end
  local claimed = redis.call('HGET', KEYS[f.claims], f.ti)
  if claimed and tonumber(claimed) == tonumber(f.try) then
    local xcoms, xcom = f.xcoms, KEYS[f.xcom]
    for i = 1, #xcoms, 2 do redis.call('HSET', xcom, xcoms[i], xcoms[i + 1]) end
    if f.rendered ~= '' then redis.call('HSET', KEYS[f.rendered_key], f.ti, f.rendered) end
    if f.defer and acked == 1 then defer_try(f) end
    -- (and while the stored record still has this try queued or running: not one the
    -- coordinator has already given up on, a worker it took for dead)
    if f.plan and acked == 1 and current_try(f) then fast = fast_path(f, ARGV[2]) end
  end
  -- a replayed completion is stale for the coordinator, except a deferral's: the same try,
  -- resumed meanwhile, would take it for its own; a deferral not acknowledged stored nothing
  if not fast and not (f.defer and acked == 0) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'finished', 'run', f.run,
      'ti', f.ti, 'try', f.try, 'outcome', f.outcome)
  elseif fast then  -- the same, saying which successor the script queued
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'finished', 'run', f.run,
      'ti', f.ti, 'try', f.try, 'outcome', f.outcome, 'fast', fast)
  end
end
return 1
""".replace("${DEFER_TRY}", DEFER_TRY).replace("${FAST_PATH}", FAST_PATH)
