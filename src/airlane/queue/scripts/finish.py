"""``finish_many`` (worker): per try, its last log lines, XComs, acknowledgement and completion."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from airlane.queue.keys import WORKER_GROUP, Keys, run_ref, ti_field
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

    def wire(self, keys: Keys, table: KeyTable) -> dict[str, object]:
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


# KEYS: completions, worker_tasks of the worker, then the streams, claims, XCom, log and
#   rendered keys of the tries
# ARGV: group, completions maxlen, log maxlen, log retention s, the finishes as one JSON array
#   of objects (Finish.wire): {stream: KEYS index, message_id, run: run ref, ti: ti field, try
#   (text), outcome: outcome JSON, message_ref, claims: KEYS index, xcom: KEYS index, xcoms:
#   [field, value, ...], log: KEYS index, lines: [log line, ...], expire_log: 0/1,
#   rendered_key: KEYS index, rendered: rendered fields JSON or ""}
# The try's last log lines, its XComs and rendered fields (only while its claim stands), the
# acknowledgement and the completion event are written together.
FINISH_MANY = """
for _, f in ipairs(cjson.decode(ARGV[5])) do
  local log = KEYS[f.log]
  redis.call('XACK', KEYS[f.stream], ARGV[1], f.message_id)
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
  end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', 'finished', 'run', f.run,
    'ti', f.ti, 'try', f.try, 'outcome', f.outcome)
end
return 1
"""
