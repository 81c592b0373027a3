"""``hand_back`` (worker): a claimed try goes back to the coordinator unused, at most once."""

from __future__ import annotations

from dataclasses import dataclass

from airlane.queue.keys import Keys
from airlane.queue.scripts.wire import ScriptArgs


@dataclass(frozen=True, slots=True)
class HandBack:
    """Worker ``worker_id`` gives back the try it claimed under ``message_ref`` (a ClaimRef) from
    message ``message_id`` of ``stream``; ``released`` is its TryReleased event's fields."""

    worker_id: str
    stream: str
    group: str
    message_id: str
    message_ref: str
    released: dict[str, str]
    completions_maxlen: int

    def encode(self, keys: Keys) -> ScriptArgs:
        flat = [part for pair in self.released.items() for part in pair]
        return ScriptArgs(
            [keys.completions, keys.worker_tasks(self.worker_id), self.stream],
            [self.group, self.message_id, self.message_ref, self.completions_maxlen, *flat],
        )


# KEYS: completions, worker_tasks of the worker, the task stream
# ARGV: group, message id, ClaimRef, completions maxlen, then the TryReleased fields (flat)
# Returns 1 when the release was written, 0 when the claim was no longer the worker's: given
# back already (a call whose reply was lost, retried), or taken back by the coordinator. A
# second release of the same try could otherwise free it again while another worker runs it.
HAND_BACK = """
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
if redis.call('SREM', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
return 1
"""
