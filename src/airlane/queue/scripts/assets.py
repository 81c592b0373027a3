"""``record_asset_events`` (coordinator, API, watchers): asset events, their queued consumers and
their ``asset`` entries on the events stream, in one step; a try's events once.

``create_asset_run`` (coordinator): a consumer's asset-triggered run and the removal of its
queued events, in one step, unless its queue was consumed already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from airlane.queue.keys import Keys, run_ref
from airlane.queue.messages import EVENTS_MAXLEN, STREAM_MAXLEN
from airlane.queue.scripts.wire import KeyTable, ScriptArgs

#: outside sources' dedupe keys kept (a watcher's message is redelivered only while pending in
#: its consumer group, that is until the triggerer recorded it and asked for the next one)
DEDUPE_MAX = 100_000


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One event to write: its JSON without the id, its asset and consumers to queue."""

    body: str
    asset_id: int
    timestamp_us: int
    created_at: str
    #: ``asset_queue`` fields of the consumers this event queues
    queue_fields: Sequence[str]


@dataclass(frozen=True, slots=True)
class RecordAssetEvents:
    """See RECORD_ASSET_EVENTS."""

    #: "" for events from outside (never deduplicated), else the try's field
    source_field: str
    events: Sequence[PendingEvent]
    events_maxlen: int = EVENTS_MAXLEN
    #: ``source_field`` is an outside source's dedupe key (a watcher's message), not a try's:
    #: kept among the newest ``dedupe_max`` only (a try's goes with its run)
    outside: bool = False
    dedupe_max: int = DEDUPE_MAX

    def encode(self, keys: Keys) -> ScriptArgs:
        table = KeyTable(
            keys.asset_seqs,
            keys.asset_events,
            keys.asset_event_index,
            keys.asset_event_sources,
            keys.asset_queue,
            keys.events,
            keys.asset_event_dedupe,
        )
        rows = [
            [
                e.body,
                table.position(keys.asset_events_of(e.asset_id)),
                e.timestamp_us,
                e.created_at,
                list(e.queue_fields),
            ]
            for e in self.events
        ]
        dedupe_max = self.dedupe_max if self.outside else 0
        args: list[str | int | float] = [
            self.source_field,
            self.events_maxlen,
            orjson.dumps(rows).decode(),
            dedupe_max,
        ]
        return ScriptArgs(table.keys, args)


# KEYS: asset_seqs, asset_events, asset_event_index, asset_event_sources, asset_queue, events,
#       asset_event_dedupe, then each asset's event index as the rows name them
# ARGV: source field ("" none), events maxlen, JSON rows
#       [body without '{"id":N,', position of the asset's index, timestamp in microseconds,
#        queued at, [asset_queue fields]], most outside dedupe keys kept (0: a try's field)
# Returns {1, ids JSON} for events recorded now, {0, ids JSON} for a try's events recorded before.
RECORD_ASSET_EVENTS = """
if ARGV[1] ~= '' then
  local done = redis.call('HGET', KEYS[4], ARGV[1])
  if done then return {0, done} end
end
local ids = {}
for i, row in ipairs(cjson.decode(ARGV[3])) do
  local id = redis.call('HINCRBY', KEYS[1], 'event', 1)
  local record = '{"id":' .. id .. ',' .. row[1]
  redis.call('HSET', KEYS[2], id, record)
  redis.call('ZADD', KEYS[3], id, id)
  redis.call('ZADD', KEYS[row[2]], row[3], id)
  for _, f in ipairs(row[5]) do redis.call('HSETNX', KEYS[5], f, row[4]) end
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'asset', 'event', record)
  ids[i] = id
end
local out = '[' .. table.concat(ids, ',') .. ']'
if ARGV[1] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], out) end
local most = tonumber(ARGV[4])
if ARGV[1] ~= '' and most > 0 then
  local newest = redis.call('ZREVRANGE', KEYS[7], 0, 0, 'WITHSCORES')
  redis.call('ZADD', KEYS[7], (tonumber(newest[2]) or 0) + 1, ARGV[1])
  local over = redis.call('ZCARD', KEYS[7]) - most
  if over > 0 then
    local old = redis.call('ZRANGE', KEYS[7], 0, over - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[7], 0, over - 1)
    redis.call('HDEL', KEYS[4], unpack(old))
  end
end
return {1, out}
"""


@dataclass(frozen=True, slots=True)
class CreateAssetRun:
    """See CREATE_ASSET_RUN."""

    dag_id: str
    run_id: str
    logical_date_s: float
    run_hash: Mapping[str, str]
    #: the consumer's ``asset_queue`` fields this run consumes (all must still be there)
    queue_fields: Sequence[str]
    #: the events it consumes (their created_dagruns gain the run)
    event_ids: Sequence[int]
    run_after: str
    #: tell the coordinator (a ``run_created`` command); False when the coordinator creates
    #: the run itself and activates it at once
    announce: bool = True
    commands_maxlen: int = STREAM_MAXLEN
    events_maxlen: int = EVENTS_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        run_keys = [
            keys.dags,
            keys.run(self.dag_id, self.run_id),
            keys.runs_of(self.dag_id),
            keys.active_runs,
            keys.commands,
            keys.events,
            keys.asset_queue,
            keys.asset_event_runs,
            keys.asset_triggered,
        ]
        data = {
            "q": list(self.queue_fields),
            "e": [str(i) for i in self.event_ids],
            "h": [v for pair in self.run_hash.items() for v in pair],
        }
        args: list[str | int | float] = [
            self.dag_id,
            self.run_id,
            self.logical_date_s,
            run_ref(self.dag_id, self.run_id),
            self.commands_maxlen,
            self.events_maxlen,
            self.run_after,
            orjson.dumps(data).decode(),
            1 if self.announce else 0,
        ]
        return ScriptArgs(run_keys, args)


# KEYS: dags, run, runs index, active runs, commands, events, asset_queue, asset_event_runs,
#       asset_triggered
# ARGV: dag_id, run_id, score, run ref, commands maxlen, events maxlen, run_after,
#       JSON {q: queue fields, e: event ids, h: run hash field/value list}, announce (1/0)
# Returns 1 (created), 0 (a queue field is gone: consumed already), or NODAG / EXISTS errors.
CREATE_ASSET_RUN = """
local data = cjson.decode(ARGV[8])
for _, f in ipairs(data.q) do
  if redis.call('HEXISTS', KEYS[7], f) == 0 then return 0 end
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return redis.error_reply('NODAG') end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('EXISTS') end
for i = 1, #data.h, 2 do redis.call('HSET', KEYS[2], data.h[i], data.h[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
for _, f in ipairs(data.q) do redis.call('HDEL', KEYS[7], f) end
for _, id in ipairs(data.e) do
  local before = redis.call('HGET', KEYS[8], id)
  if before then redis.call('HSET', KEYS[8], id, before .. '\\n' .. ARGV[4])
  else redis.call('HSET', KEYS[8], id, ARGV[4]) end
end
redis.call('HSET', KEYS[9], ARGV[1], ARGV[7])
if ARGV[9] == '1' then
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'type', 'run_created', 'run', ARGV[4])
end
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[6], '*', 'kind', 'run', 'run', ARGV[4],
  'state', 'queued')
return 1
"""
