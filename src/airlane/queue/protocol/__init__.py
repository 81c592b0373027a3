"""The wire forms services exchange through Redis, each encoded and decoded in one class.

- :mod:`.commands`: the ``commands`` stream, one class per ``type`` (:func:`decode_command`);
- :mod:`.completions`: the ``completions`` stream, one class per ``kind``
  (:func:`decode_completion`);
- :mod:`.refs`: the running-try reference (:class:`ClaimRef`), stop idents and worker beats;
- :mod:`.records`: what their decoders share, :class:`MalformedRecord` and
  :func:`decoded_or_none`, the one place where a reader survives a bad record.

Each class's docstring gives its fields on the wire and the Lua script, if any, that writes
or reads it. Run events (the ``events`` stream) are in :mod:`airlane.queue.events_protocol`,
the task message in :mod:`airlane.queue.messages`; Airflow's rule for run ids, checked
wherever a run is created, is in :mod:`airlane.queue.run_ids` (and imported from here too).
Everything is importable from this package.
"""

from airlane.queue.protocol.commands import (
    BackfillChanged,
    ClearTasks,
    Command,
    CommandKind,
    DagPaused,
    DagUnpaused,
    DagUpdated,
    Marks,
    MarkTasks,
    PoolsChanged,
    RunCreated,
    Tick,
    decode_command,
    encode_marks,
)
from airlane.queue.protocol.completions import (
    Completion,
    CompletionKind,
    TryFinished,
    TryReleased,
    TryResumed,
    TryStarted,
    decode_completion,
)
from airlane.queue.protocol.records import (
    Fields,
    MalformedRecord,
    decoded_or_none,
    parse_ti_key,
)
from airlane.queue.protocol.refs import ClaimRef, StopIdent, WorkerBeat
from airlane.queue.run_ids import (
    ANY_ID,
    RUN_ID_MAX_CHARS,
    InvalidRunId,
    run_id_problem,
    validate_run_id,
)

__all__ = [
    "ANY_ID",
    "RUN_ID_MAX_CHARS",
    "BackfillChanged",
    "ClaimRef",
    "ClearTasks",
    "Command",
    "CommandKind",
    "Completion",
    "CompletionKind",
    "DagPaused",
    "DagUnpaused",
    "DagUpdated",
    "Fields",
    "InvalidRunId",
    "MalformedRecord",
    "MarkTasks",
    "Marks",
    "PoolsChanged",
    "RunCreated",
    "StopIdent",
    "Tick",
    "TryFinished",
    "TryReleased",
    "TryResumed",
    "TryStarted",
    "WorkerBeat",
    "decode_command",
    "decode_completion",
    "decoded_or_none",
    "encode_marks",
    "parse_ti_key",
    "run_id_problem",
    "validate_run_id",
]
