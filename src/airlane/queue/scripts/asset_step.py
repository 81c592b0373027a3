"""``asset_step`` (coordinator): a try's asset events, the consumers they queue and the runs
they make ready, in one step (queue/asset_step.py plans it).

The coordinator plans each run from what it holds (the DAGs' declarations, the assets' records,
each consumer's previous asset-triggered run); the script makes a planned run only when what it
finds in Redis is what the plan assumed (the asset records as cached, the consumer unpaused and
with no queued row, no unconsumed event of its assets, the same previous run), otherwise it
leaves the consumer queued for the full look (queue/asset_runs.create_ready_runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from airlane.queue.keys import Keys, run_ref
from airlane.queue.messages import EVENTS_MAXLEN
from airlane.queue.scripts.wire import KeyTable, ScriptArgs


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One event to record, the consumers it queues and its reference in a run."""

    #: its JSON without the leading ``{"id":N,`` (the id is given in Lua)
    body: str
    asset_id: int
    timestamp_us: int
    created_at: str
    #: (consumer dag_id, its ``asset_queue`` field, whether a new row asks for the full look):
    #: queued unless the consumer is paused or inactive
    rows: Sequence[tuple[str, str, bool]]
    #: its entry in a run's ``asset_events`` without the leading ``{"id":N,``
    ref: str


@dataclass(frozen=True, slots=True)
class StepRun:
    """A consumer's run, made when Redis is as planned (see the module's description)."""

    dag_id: str
    run_id: str
    #: its score in ``runs:<dag_id>``
    score_s: float
    #: its ``run:{run}`` hash without ``asset_events`` (built in Lua from the events' ids)
    run_hash: Mapping[str, str]
    #: the ``asset_queue`` fields this step queues and the run consumes (absent before)
    fresh: Sequence[str]
    #: its other assets' fields (must be absent)
    absent: Sequence[str]
    #: run_after of its previous asset-triggered run ("" none), as the caller knows it
    previous: str
    previous_us: int | None
    #: its assets' ids: none may hold an event after ``previous`` before this step
    asset_ids: Sequence[int]
    #: the step's events it takes (positions in AssetStep.events, from 0)
    events: Sequence[int]
    run_after: str


@dataclass(frozen=True, slots=True)
class AssetStep:
    """See ASSET_STEP."""

    #: "" for events never deduplicated, else the try's field
    source_field: str
    #: (asset name, its stored record JSON) as the caller knows them
    assets: Sequence[tuple[str, str]]
    events: Sequence[StepEvent]
    runs: Sequence[StepRun]
    events_maxlen: int = EVENTS_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        table = KeyTable(
            keys.asset_seqs,
            keys.asset_events,
            keys.asset_event_index,
            keys.asset_event_sources,
            keys.asset_queue,
            keys.events,
            keys.assets,
            keys.paused,
            keys.inactive,
            keys.dags,
            keys.active_runs,
            keys.asset_event_runs,
            keys.asset_triggered,
        )
        events = [
            [
                e.body,
                table.position(keys.asset_events_of(e.asset_id)),
                str(e.timestamp_us),
                e.created_at,
                [[dag_id, field, 1 if look else 0] for dag_id, field, look in e.rows],
                e.ref,
            ]
            for e in self.events
        ]
        runs = [_run_data(table, keys, run) for run in self.runs]
        data = {"a": [list(a) for a in self.assets], "e": events, "r": runs}
        return ScriptArgs(
            table.keys, [self.source_field, self.events_maxlen, orjson.dumps(data).decode()]
        )


def _run_data(table: KeyTable, keys: Keys, run: StepRun) -> dict[str, object]:
    low = "-inf" if run.previous_us is None else f"({run.previous_us}"
    return {
        "d": run.dag_id,
        "id": run.run_id,
        "ref": run_ref(run.dag_id, run.run_id),
        "k": table.position(keys.run(run.dag_id, run.run_id)),
        "i": table.position(keys.runs_of(run.dag_id)),
        "s": repr(run.score_s),
        "h": [v for pair in run.run_hash.items() for v in pair],
        "f": list(run.fresh),
        "o": list(run.absent),
        "p": run.previous,
        "low": low,
        "x": [table.position(keys.asset_events_of(i)) for i in run.asset_ids],
        "e": [i + 1 for i in run.events],
        "ra": run.run_after,
    }


# KEYS: 1 asset_seqs, 2 asset_events, 3 asset_event_index, 4 asset_event_sources, 5 asset_queue,
#       6 events, 7 assets, 8 paused, 9 inactive, 10 dags, 11 active runs, 12 asset_event_runs,
#       13 asset_triggered, then the keys the data names by position
# ARGV: 1 source field ("" none), 2 events maxlen, 3 JSON
#       {a: [[asset name, record JSON]], e: [event rows], r: [run plans]}
#       event row: [body without '{"id":N,', position of the asset's index, timestamp (us),
#                   queued at, [[consumer dag_id, asset_queue field, 1: a new row asks for the
#                   full look]], ref without '{"id":N,']
#       run plan: {d dag_id, id run_id, ref, k run key, i runs index, s score, h hash pairs,
#                  f fresh fields, o absent fields, p previous run_after, low its score bound,
#                  x its assets' indexes, e its events (1-based), ra run_after}
# Returns {1, ids JSON, per run its DAG's content hash, or "" (not as planned: left queued) or
# "-" (its DAG is paused or inactive: not queued), 1 when a row asking for the full look was
# queued now else 0}; {0, ids JSON, {}, 0} for a try's events recorded before, {-1, "[]", {}, 0}
# when an asset record is not the caller's (nothing written either way).
ASSET_STEP = """
local data = cjson.decode(ARGV[3])
if ARGV[1] ~= '' then
  local done = redis.call('HGET', KEYS[4], ARGV[1])
  if done then return {0, done, {}, 0} end
end
for _, a in ipairs(data.a) do
  if redis.call('HGET', KEYS[7], a[1]) ~= a[2] then return {-1, '[]', {}, 0} end
end
local idle = {}
local function active(dag)
  if idle[dag] == nil then
    idle[dag] = redis.call('SISMEMBER', KEYS[8], dag) == 1
      or redis.call('SISMEMBER', KEYS[9], dag) == 1
  end
  return not idle[dag]
end
local function absent(fields)
  for _, f in ipairs(fields) do
    if redis.call('HEXISTS', KEYS[5], f) == 1 then return false end
  end
  return true
end
local function unread(run)
  for _, pos in ipairs(run.x) do
    if #redis.call('ZRANGEBYSCORE', KEYS[pos], run.low, '+inf', 'LIMIT', 0, 1) > 0 then
      return false
    end
  end
  return true
end
local function verdict(run)
  if not active(run.d) then return '-' end
  if not (absent(run.f) and absent(run.o) and unread(run)) then return '' end
  if (redis.call('HGET', KEYS[13], run.d) or '') ~= run.p then return '' end
  if redis.call('EXISTS', KEYS[run.k]) == 1 then return '' end
  return redis.call('HGET', KEYS[10], run.d) or ''
end
local answers = {}
for i, run in ipairs(data.r) do answers[i] = verdict(run) end
local ids = {}
local look = 0
for i, row in ipairs(data.e) do
  local id = redis.call('HINCRBY', KEYS[1], 'event', 1)
  local record = '{"id":' .. id .. ',' .. row[1]
  redis.call('HSET', KEYS[2], id, record)
  redis.call('ZADD', KEYS[3], id, id)
  redis.call('ZADD', KEYS[row[2]], row[3], id)
  for _, q in ipairs(row[5]) do
    if active(q[1]) and redis.call('HSETNX', KEYS[5], q[2], row[4]) == 1 and q[3] == 1 then
      look = 1
    end
  end
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'asset', 'event', record)
  ids[i] = id
end
local out = '[' .. table.concat(ids, ',') .. ']'
if ARGV[1] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], out) end
local made_by = {}
for i, run in ipairs(data.r) do
  if answers[i] ~= '' and answers[i] ~= '-' then
    local refs = {}
    for _, k in ipairs(run.e) do
      refs[#refs + 1] = '{"id":' .. ids[k] .. ',' .. data.e[k][6]
      made_by[k] = made_by[k] or {}
      table.insert(made_by[k], run.ref)
    end
    redis.call('HSET', KEYS[run.k], 'asset_events', '[' .. table.concat(refs, ',') .. ']',
      unpack(run.h))
    redis.call('ZADD', KEYS[run.i], run.s, run.id)
    redis.call('SADD', KEYS[11], run.ref)
    for _, f in ipairs(run.f) do redis.call('HDEL', KEYS[5], f) end
    redis.call('HSET', KEYS[13], run.d, run.ra)
    redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'run', 'run', run.ref,
      'state', 'queued')
  end
end
for k = 1, #ids do
  if made_by[k] then redis.call('HSET', KEYS[12], ids[k], table.concat(made_by[k], '\\n')) end
end
return {1, out, answers, look}
"""
