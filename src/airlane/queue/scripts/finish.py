"""``finish_many`` (worker): per try, its last log lines, XComs, acknowledgement and completion."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from airlane.queue.keys import WORKER_GROUP, Keys, deferred_field, log_in_run, ti_field
from airlane.queue.messages import STREAM_MAXLEN
from airlane.queue.scripts.claim import CLAIM_TRY, RECORD_STATE
from airlane.queue.scripts.wire import KeyTable, RunKeys, ScriptArgs, TextTable, run_keys


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
    #: with the fast path: the worker runs the successor itself (RUN_HERE), which it asks for
    #: while it is not stopping (the finished try's slot is the successor's)
    run_here: bool = False
    #: finished by the try's task process itself (``finish_here``): ``log_lines`` are the
    #: whole log, of which only the lines its worker has not written yet are written (refused,
    #: nothing written, when the log holds more lines than that)
    whole_log: bool = False

    def wire(self, keys: Keys, table: KeyTable, texts: TextTable) -> dict[str, object]:
        """The finish as FINISH_MANY's JSON object: its keys by position in ``table``, its
        JSON texts (FINISH_TEXTS) by position in ARGV, from ``texts``."""
        run = run_keys(keys, self.dag_id, self.run_id)
        wired = self._wire(run, table, texts)
        if self.resumed or self.deferral_json:
            field = deferred_field(self.dag_id, self.run_id, self.task_id, self.map_index)
            if self.resumed:
                wired["resumes"] = table.position(keys.resumes)
                wired["resumed"] = f"{field}|{self.try_number}"
            if self.deferral_json:
                wired["defer"] = texts.position(self.deferral_json)
                wired["deferred_field"] = field
                wired["tis"] = table.position(run.tis)
                for name in ("triggers", "trigger_leases", "deferred", "trigger_timeouts"):
                    wired[name] = table.position(getattr(keys, name))
        if self.whole_log:
            wired["whole_log"] = 1
        if self.fast_template and self.map_index < 0:
            wired["template"] = texts.position(self.fast_template)
            wired["plan"] = table.position(run.fast_plan)
            wired["tis"] = table.position(run.tis)
            wired["run_key"] = table.position(run.run)
            if self.run_here:
                wired["here"] = 1
                # the ClaimRef's pieces as protocol.ClaimRef.encode writes them
                wired["ref_stream"] = texts.position(_json_text(self.stream))
                wired["ref_run"] = texts.position(run.ref_pair)
        return wired

    def _wire(self, run: RunKeys, table: KeyTable, texts: TextTable) -> dict[str, object]:
        ti = ti_field(self.task_id, self.map_index)
        return {
            "stream": table.position(self.stream),
            "message_id": self.message_id,
            "run": run.ref,
            "ti": ti,
            "try": str(self.try_number),
            "outcome": texts.position(self.outcome_json),
            "message_ref": texts.position(self.message_ref),
            "claims": table.position(run.claims),
            "xcom": table.position(f"{run.xcom_prefix}{self.task_id}"),
            "xcoms": list(self.xcom_pairs),
            "log": table.position(
                log_in_run(run.log_prefix, self.task_id, self.map_index, self.try_number)
            ),
            "lines": list(self.log_lines),
            "expire_log": 1 if self.set_log_expiry else 0,
            "rendered_key": table.position(run.rendered),
            "rendered": texts.position(self.rendered_json),
        }


def _json_text(text: str) -> str:
    return orjson.dumps(text).decode()


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
        texts = TextTable(fixed=6)
        finishes = [finish.wire(keys, table, texts) for finish in self.finishes]
        args: list[str | int | float] = [
            self.group,
            self.completions_maxlen,
            self.log_maxlen,
            self.log_retention_s,
            orjson.dumps(finishes).decode(),
            self.worker_id,
            *texts.texts,
        ]
        return ScriptArgs(table.keys, args)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A task message FINISH_MANY read for the finishing worker (RUN_HERE): the fast-path
    successor, claimed for it already, or an older message of the stream, not claimed."""

    stream: str
    message_id: str
    fields: dict[str, str]
    claimed: bool
    #: the encoded ClaimRef the script added to ``worker_tasks`` ("" when not claimed)
    ref: str
    #: the finish was a replay (its first call's answer was lost, with any message it read
    #: for the worker: that one waits in the worker's pending list); nothing else is set
    replayed: bool = False
    #: a ``whole_log`` finish refused: its log has more lines (nothing else is set)
    refused: bool = False

    @classmethod
    def decode(cls, raw: object) -> Delivery | None:
        """One finish's answer: 0 (nothing read), -1 (a replay), -2 (refused: ``whole_log``)
        or the list RUN_HERE returns."""
        if not isinstance(raw, list):
            return REPLAYED if raw == -1 else REFUSED if raw == -2 else None
        stream, message_id, flat, claimed, ref = raw
        texts = [_text(v) for v in flat]
        fields = dict(zip(texts[::2], texts[1::2], strict=True))
        return cls(_text(stream), _text(message_id), fields, bool(claimed), _text(ref))


#: a replayed finish's answer (Delivery.replayed)
REPLAYED = Delivery("", "", {}, False, "", replayed=True)
#: a refused finish's answer (Delivery.refused)
REFUSED = Delivery("", "", {}, False, "", refused=True)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# The trigger a deferred try waits on joins the ``triggers`` hash (an identical trigger already
# there gains a waiter: deduplicated), unleased (score 0) when new, so that a triggerer claims it.
# Only while the try is its instance's current one in the stored record (queued or running, that
# try): one the coordinator already moved on from (cleared, marked, its run ended or deleted)
# leaves no trigger that a triggerer could claim before the coordinator forgets the deferral.
DEFER_TRY = """
local function current_try(f)
  local raw = redis.call('HGET', KEYS[f.tis], f.ti)
  if not raw then return false end
  local state, try_number = record_state(raw)
  return try_number == tonumber(f.try) and (state == 'queued' or state == 'running')
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
# to the finished try's task stream. Returns the successor queued ({ti, task, try, id: its
# message's id}), or nil.
FAST_PATH = """
local function fresh_successor(f, cand)
  for _, up in ipairs(cand[2]) do
    local raw = redis.call('HGET', KEYS[f.tis], up)
    if not raw or record_state(raw) ~= 'success' then return nil end
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
  local t = redis_time()
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
  local id = redis.call('XADD', KEYS[f.stream], 'MAXLEN', '~', maxlen, '*', 'm', cjson.encode(m))
  return {ti = field, task = m[3], try = try, id = id}
end
-- (the run's state read once per call: the finishes of one call are often of one run)
local run_states = {}
local function run_state(key)
  local state = run_states[key]
  if state == nil then
    state = redis.call('HGET', key, 'state')
    run_states[key] = state
  end
  return state
end
-- (the cheapest refusals first: a try without candidates, the last of its chain or one of a
-- fan-out's leaves, reads neither its record nor the run's state; an outcome as
-- codec.encode_outcome writes a plain success, its first keys in that order, is not decoded)
local SUCCESS = '^{"state":"success","try_number":%-?%d+,"retryable":%a+,"error":null,'
  .. '"follow":null,"short_circuit":null[,}]'
local function plain_success(outcome)
  if string.find(outcome, SUCCESS) then return true end
  local o = cjson.decode(outcome)
  return o['state'] == 'success' and o['follow'] == cjson.null
    and o['short_circuit'] == cjson.null
end
local function fast_path(f, maxlen)
  if not plain_success(f.outcome) then return nil end
  local raw = redis.call('HGET', KEYS[f.plan], f.ti)
  if not raw then return nil end
  -- (and while the stored record still has this try queued or running: not one the
  -- coordinator has already given up on, a worker it took for dead)
  if not current_try(f) then return nil end
  if run_state(KEYS[f.run_key]) ~= 'running' then return nil end
  for _, cand in ipairs(cjson.decode(raw)) do
    local ti = fresh_successor(f, cand)
    if ti then return queue_successor(f, cand[1], ti, maxlen) end
  end
  return nil
end
"""

# Airflow's mini scheduler: the successor the fast path queued runs on the worker that finished
# its upstream, when that worker asked (``here``: it has the finished try's slot and is not
# stopping). The script reads one entry of the stream for the worker (XREADGROUP, without BLOCK:
# it lands in the worker's pending list, no other worker can have it). The successor's own
# message is claimed for the worker as CLAIM_MANY would (scripts/claim.py, CLAIM_TRY: its
# ``started`` event after its upstream's ``finished``), its ClaimRef built as
# protocol.ClaimRef.encode does (the stream, DAG and run id JSON come from the worker:
# ``ref_stream`` and ``ref_run``; task ids are validated words, which cjson writes as orjson
# does); an older entry read instead (a backlog) is not claimed: the worker claims it as usual.
# Returns {stream, message id, fields (flat), 1 claimed / 0 not, ClaimRef or ""}, or 0.
RUN_HERE = """
local function started_at()
  local t = redis_time()
  return t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
local function run_here(f, q)
  local stream = KEYS[f.stream]
  local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[6], 'COUNT', 1,
    'STREAMS', stream, '>')
  local entry = read and read[1][2][1]
  if not entry or not entry[2] then return 0 end
  if entry[1] ~= q.id then return {stream, entry[1], entry[2], 0, ''} end
  local try = string.format('%d', q.try)
  local ref = '[' .. f.ref_stream .. ',' .. cjson.encode(q.id) .. ',' .. f.ref_run .. ','
    .. cjson.encode(q.task) .. ',-1,' .. try .. ']'
  claim_try({claims = KEYS[f.claims], ti = q.ti, try = try, ref = ref, maxlen = ARGV[2],
    run = f.run, worker = ARGV[6], at = started_at()})
  return {stream, q.id, entry[2], 1, ref}
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
#   try's task message JSON), plan, tis, run_key (the run's hash): KEYS indexes, and when the
#   worker would run the successor itself: here (1), ref_stream, ref_run (RUN_HERE); for a
#   finish its task process sends (service/worker/finish_here.py): whole_log (1): the lines
#   are the try's whole log, whose first ones the log may hold already; then
#   ARGV[6]: the worker's id (its consumer name in the group); then the texts (wire.TextTable),
#   each once: the JSON names outcome, message_ref, rendered, defer, template, ref_stream and
#   ref_run by their position in ARGV (FINISH_TEXTS puts each text in their place)
# Returns per finish what RUN_HERE read for the worker, else 0.
# The try's last log lines, its XComs and rendered fields (only while its claim stands), the
# acknowledgement and the completion event are written together; a deferred try's trigger too
# (DEFER_TRY below: first delivery only, while its claim stands). A replay (the message already
# acknowledged) keeps a resumed try's resume entry and sends no deferred completion again.
FINISH_MANY = """
-- Redis' clock, read once per call (the successor's queue time and start time alike)
local now_time = nil
local function redis_time()
  if not now_time then now_time = redis.call('TIME') end
  return now_time
end
-- the completion: a replayed one is stale for the coordinator, except a deferral's: the same
-- try, resumed meanwhile, would take it for its own; a deferral not acknowledged stored nothing
local function finished(f, acked, fast)
  if not fast and not (f.defer and acked == 0) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'finished', 'run', f.run,
      'ti', f.ti, 'try', f.try, 'outcome', f.outcome)
  elseif fast then  -- the same, saying which successor the script queued
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'finished', 'run', f.run,
      'ti', f.ti, 'try', f.try, 'outcome', f.outcome, 'fast', fast.ti .. '|' .. fast.try)
  end
end
${RECORD_STATE}
${DEFER_TRY}
${FAST_PATH}
${CLAIM_TRY}
${RUN_HERE}
${FINISH_TEXTS}
local function finish_one(f)
  local fast = nil
  local log = KEYS[f.log]
  local acked = redis.call('XACK', KEYS[f.stream], ARGV[1], f.message_id)
  -- a replay (acked 0: the reply to the first call was lost) leaves the resume entry alone:
  -- a try that deferred again may have been resumed anew meanwhile
  if f.resumed and acked == 1 then redis.call('HDEL', KEYS[f.resumes], f.resumed) end
  redis.call('SREM', KEYS[2], f.message_ref)
  -- (a whole log's first lines may be written already, by its worker: ``written``)
  for n = (f.written or 0) + 1, #f.lines do
    redis.call('XADD', log, 'MAXLEN', '~', ARGV[3], '*', 'line', f.lines[n])
  end
  if f.expire_log == 1 and #f.lines > 0 then redis.call('EXPIRE', log, ARGV[4]) end
  local claimed = redis.call('HGET', KEYS[f.claims], f.ti)
  if claimed and tonumber(claimed) == tonumber(f.try) then
    local xcoms, xcom = f.xcoms, KEYS[f.xcom]
    for i = 1, #xcoms, 2 do redis.call('HSET', xcom, xcoms[i], xcoms[i + 1]) end
    if f.rendered ~= '' then redis.call('HSET', KEYS[f.rendered_key], f.ti, f.rendered) end
    if f.defer and acked == 1 then defer_try(f) end
    if f.plan and acked == 1 then fast = fast_path(f, ARGV[2]) end
  end
  finished(f, acked, fast)
  -- a replay of a finish that asked for a message: the first call may have read one for us
  -- and its answer is lost: the worker looks at its pending list now (-1)
  if f.here and acked == 0 then return -1 end
  if fast and f.here then return run_here(f, fast) end
  return 0
end
local results = {}
for i, f in ipairs(cjson.decode(ARGV[5])) do
  finish_texts(f)
  -- a task process's finish carries the whole log, whose first lines its worker may have
  -- written (as the task process sent them: in order): the rest is written; refused (-2) when
  -- the log holds more than it carries (the worker then finishes the try)
  local written = f.whole_log and redis.call('XLEN', KEYS[f.log])
  if written and written > #f.lines then
    results[i] = -2
  else
    f.written = written
    results[i] = finish_one(f)
  end
end
return results
"""
# A worker's flush of a try's log lines that its task process may finish itself (``whole_log``):
# the lines are written only while the try's claim is still the worker's; once the task process
# finished the try, its finish wrote the whole log, these lines with it.
# KEYS: the log stream, worker_tasks of the worker; ARGV: the try's ClaimRef, log maxlen, the
# log's retention in seconds (0: its expiry is set already), then the lines.
LINES_WHILE_CLAIMED = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
for i = 4, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'line', ARGV[i])
end
if ARGV[3] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""
# A try's start clears what its instance's earlier tries stored as XComs (Airflow clears them when
# a try starts: ``xcom_keys_to_clear``), only while the try is the instance's claimed one: a try a
# newer one replaced (its worker taken for dead) removes nothing of the newer try's.
# KEYS: the task's XCom hash, the run's claims; ARGV: the instance's claims field, the try, then
# the XCom fields to remove. Returns the removed fields and values, flat (a custom XCom backend
# purges what they refer to once they are gone: never for a try the claim does not fence), or
# 0 when the claim is another try's.
CLEAR_TRY_XCOMS = """
local claimed = redis.call('HGET', KEYS[2], ARGV[1])
if not claimed or tonumber(claimed) ~= tonumber(ARGV[2]) then return 0 end
local gone = {}
for i = 3, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    redis.call('HDEL', KEYS[1], ARGV[i])
    gone[#gone + 1] = ARGV[i]
    gone[#gone + 1] = value
  end
end
return gone
"""
# A finish's texts, sent as ARGV of their own (FinishMany.encode), in their place.
FINISH_TEXTS = """
local TEXTS = {'outcome', 'message_ref', 'rendered', 'defer', 'template', 'ref_stream', 'ref_run'}
local function finish_texts(f)
  for _, name in ipairs(TEXTS) do
    local at = f[name]
    if at then f[name] = ARGV[at] end
  end
end
"""
for _name, _source in (
    ("FINISH_TEXTS", FINISH_TEXTS),
    ("RECORD_STATE", RECORD_STATE),
    ("DEFER_TRY", DEFER_TRY),
    ("FAST_PATH", FAST_PATH),
    ("CLAIM_TRY", CLAIM_TRY),
    ("RUN_HERE", RUN_HERE),
):
    FINISH_MANY = FINISH_MANY.replace("${" + _name + "}", _source)
