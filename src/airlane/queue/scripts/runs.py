"""``create_run`` (API, CLI): a queued run of an existing DAG, unless the run id is taken."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from airlane.queue.keys import Keys, run_ref
from airlane.queue.messages import EVENTS_MAXLEN, STREAM_MAXLEN
from airlane.queue.scripts.wire import ScriptArgs


@dataclass(frozen=True, slots=True)
class CreateRun:
    """A new run and its announcements (see CREATE_RUN for the Lua side)."""

    dag_id: str
    run_id: str
    #: the run's score in ``runs:<dag_id>``: its logical date in epoch seconds
    logical_date_s: float
    #: the ``run:{run}`` hash, field by field
    run_hash: Mapping[str, str]
    commands_maxlen: int = STREAM_MAXLEN
    events_maxlen: int = EVENTS_MAXLEN

    def encode(self, keys: Keys) -> ScriptArgs:
        args: list[str | int | float] = [
            self.dag_id,
            self.run_id,
            self.logical_date_s,
            run_ref(self.dag_id, self.run_id),
            self.commands_maxlen,
            self.events_maxlen,
        ]
        for name, value in self.run_hash.items():
            args += [name, value]
        run_keys = [
            keys.dags,
            keys.run(self.dag_id, self.run_id),
            keys.runs_of(self.dag_id),
            keys.active_runs,
            keys.commands,
            keys.events,
        ]
        return ScriptArgs(run_keys, args)


# KEYS: dags, run, runs index, active runs, commands, events
# ARGV: dag_id, run_id, score, run ref, commands maxlen, events maxlen, then run hash
#       field/value pairs
# Returns 1, or the error NODAG (no such DAG) or EXISTS (the run id is taken).
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
