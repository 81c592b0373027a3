"""Every stream message round-trips through its encoding, and the wire forms are the old ones.

Ids are drawn as each place allows them: DAG and task ids as the loader accepts them (``\\w``,
so unicode, and up to 250 characters; never ``|``), run ids as Airflow's rule accepts them,
and text that travels opaquely (inside JSON, or as a whole field) as any text, ``|`` included.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airlane.api.event_format import event_payload
from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import dumps, encode_outcome
from airlane.queue.events_protocol import (
    DagEvent,
    EventKind,
    ImportErrorsEvent,
    OtherEvent,
    RunEvent,
    RunTimeoutEvent,
    TIEvent,
    decode_event,
)
from airlane.queue.keys import (
    parse_run_ref,
    parse_ti_field,
    parse_try_field,
    parse_xcom_field,
    run_ref,
    ti_field,
    try_field,
    xcom_field,
)
from airlane.queue.messages import LogLine
from airlane.queue.protocol import (
    RUN_ID_MAX_CHARS,
    BackfillChanged,
    ClaimRef,
    ClearTasks,
    Command,
    CommandKind,
    Completion,
    CompletionKind,
    DagPaused,
    DagUnpaused,
    DagUpdated,
    MalformedRecord,
    MarkTasks,
    PoolsChanged,
    RunCreated,
    StopIdent,
    Tick,
    TryFinished,
    TryReleased,
    TryStarted,
    WakeTask,
    decode_command,
    decode_completion,
    encode_marks,
    run_id_problem,
)
from airlane.queue.scripts.claim import CLAIM_MANY
from airlane.queue.scripts.finish import FINISH_MANY
from airlane.queue.scripts.runs import CREATE_RUN
from airlane.sdk.state import DagRunState, TaskInstanceState

#: what the loader accepts for DAG and task ids (dag_loader/validate.py)
_loader_ids = st.one_of(
    st.from_regex(r"[\w.\-]{1,250}", fullmatch=True),
    st.text(alphabet="é_-.中7", min_size=250, max_size=250),
)
_run_ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.~:+\-]{1,250}", fullmatch=True),
    st.text(alphabet="a:+~", min_size=RUN_ID_MAX_CHARS, max_size=RUN_ID_MAX_CHARS),
).filter(lambda run_id: run_id_problem(run_id) is None)
#: text that travels whole: separators, unicode, and 250 characters
_any_text = st.one_of(
    st.text(max_size=RUN_ID_MAX_CHARS),
    st.text(alphabet='|[]",\\é~ \n', min_size=1, max_size=20),
    st.text(alphabet="a|", min_size=RUN_ID_MAX_CHARS, max_size=RUN_ID_MAX_CHARS),
)
_some_text = _any_text.filter(bool)
_map_indexes = st.integers(min_value=-1, max_value=2**31)
_tries = st.integers(min_value=0, max_value=2**31)
_run_refs = st.builds(run_ref, _loader_ids, _run_ids)
_times_s = st.floats(min_value=0, max_value=4e9, allow_nan=False)
_maybe_times_s = st.none() | _times_s
_ti_states = st.sampled_from(TaskInstanceState)


# ---- commands -------------------------------------------------------------------------------

#: what travels opaquely inside a command or completion (run refs, DAG ids, hashes, workers)
_opaque = _run_refs | _some_text
#: task ids as a ti field carries them: its last "|" ends the task id, so any non-empty text
_task_ids = _loader_ids | _some_text
_marks = st.dictionaries(
    st.tuples(_task_ids, _map_indexes), _ti_states, min_size=1, max_size=4
).map(lambda marks: tuple(marks.items()))

_commands = st.one_of(
    st.builds(RunCreated, _opaque),
    st.builds(DagUpdated, _loader_ids | _some_text, _some_text),
    st.builds(DagPaused, _loader_ids | _some_text),
    st.builds(DagUnpaused, _loader_ids | _some_text),
    st.builds(BackfillChanged, st.none() | st.integers(min_value=1, max_value=2**53)),
    st.just(PoolsChanged()),
    st.just(Tick()),
    st.builds(ClearTasks, _opaque, st.lists(_any_text, max_size=5).map(tuple)),
    st.builds(MarkTasks, _opaque, _marks, st.booleans()),
    st.builds(WakeTask, _opaque, _task_ids, _map_indexes),
)


@given(_commands)
def test_every_command_round_trips(command: Command) -> None:
    fields = command.to_fields()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert fields["type"] == command.kind.value
    assert decode_command(fields) == command
    assert type(decode_command(fields)) is type(command)


def test_every_command_type_has_its_class() -> None:
    kinds = {type(command).kind for command in _every_command_once()}
    assert kinds == set(CommandKind)


def _every_command_once() -> list[Command]:
    return [
        RunCreated("d|r"),
        DagUpdated("d", "h"),
        DagPaused("d"),
        DagUnpaused("d"),
        BackfillChanged(1),
        PoolsChanged(),
        Tick(),
        ClearTasks("d|r", ("a",)),
        MarkTasks("d|r", ((("a", -1), TaskInstanceState.SUCCESS),)),
        MarkTasks("d|r", (), whole_run=True, run_state=DagRunState.FAILED),
        WakeTask("d|r", "a", -1),
    ]


def _old_command_fields(command: Command) -> dict[str, str]:
    """What the producers wrote by hand before the encoders (store.py, backfill.py...)."""
    kind = command.kind
    match command:
        case DagUpdated():
            return {"type": kind, "dag_id": command.dag_id, "hash": command.content_hash}
        case DagPaused() | DagUnpaused():
            return {"type": kind, "dag_id": command.dag_id}
        case BackfillChanged(backfill_id=None):
            return {"type": kind}
        case BackfillChanged():
            return {"type": kind, "id": str(command.backfill_id)}
        case ClearTasks():
            return {"type": kind, "run": command.run, "task_ids": dumps(list(command.task_ids))}
        case MarkTasks():
            marks = {ti_field(*key): state.value for key, state in command.marks}
            whole = {"whole_run": "1"} if command.whole_run else {}
            ends = {"run_state": command.run_state.value} if command.run_state else {}
            return {"type": "mark", "run": command.run, **encode_marks(marks), **whole, **ends}
        case RunCreated():  # the create_run script's fields
            return {"type": kind, "run": command.run}
        case WakeTask():
            ti = ti_field(command.task_id, command.map_index)
            return {"type": kind, "run": command.run, "ti": ti}
    return {"type": kind}


@given(_commands)
def test_commands_keep_their_wire_form(command: Command) -> None:
    fields = command.to_fields()
    assert list(fields.items()) == list(_old_command_fields(command).items())


@given(_opaque, _marks)
def test_a_mark_from_the_api_fields_is_the_mark_command(run: str, marks: Any) -> None:
    by_field = {ti_field(*key): state.value for key, state in marks}
    assert MarkTasks.from_ti_fields(run, by_field) == MarkTasks(run, marks)


def test_the_create_run_script_writes_run_created() -> None:
    assert _lua_xadd_names(CREATE_RUN, "commands") == list(RunCreated("d|r").to_fields())


@st.composite
def _broken_commands(draw: st.DrawFn) -> dict[str, str]:
    """A command's fields with one required field gone, emptied or not its type's shape."""
    command = draw(_commands.filter(lambda c: len(c.to_fields()) > 1))
    fields = dict(command.to_fields())
    optional = {"type", "whole_run"}  # whole_run: absent means False
    name = draw(st.sampled_from(sorted(set(fields) - optional)))
    numbers = {"id"}
    json_fields = {"task_ids", "marks"}
    if name in numbers | json_fields and draw(st.booleans()):
        fields[name] = draw(st.sampled_from(["x", "1.5", "{}", "[1]", '{"t": "success"}', "[]"]))
        if name == "task_ids" and fields[name] == "[]":
            fields[name] = "{}"
    elif name != "id" and draw(st.booleans()):  # a backfill's id is optional
        del fields[name]
    else:
        fields[name] = ""
    return fields


@given(_broken_commands())
def test_broken_commands_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(MalformedRecord):
        decode_command(fields)


_any_fields = st.dictionaries(
    st.sampled_from(["type", "kind", "run", "ti", "try", "dag_id", "hash", "id", "task_ids"])
    | st.sampled_from(["marks", "state", "worker", "at", "outcome"])
    | _any_text,
    _any_text | st.sampled_from(sorted(CommandKind) + sorted(CompletionKind)),
    max_size=6,
)


@given(_any_fields)
def test_any_command_entry_decodes_or_is_refused(fields: dict[str, str]) -> None:
    """What the coordinator may find in the stream: it reads it, or a MalformedRecord says
    why not (decoded_or_none logs that as one line and the coordinator goes on)."""
    try:
        command = decode_command(fields)
    except MalformedRecord:
        return
    assert decode_command(command.to_fields()) == command


# ---- completions ----------------------------------------------------------------------------

_outcomes = st.builds(
    TaskOutcome,
    state=_ti_states,
    try_number=_tries,
    retryable=st.booleans(),
    error=st.none() | _any_text,
    follow=st.none() | st.lists(_loader_ids, max_size=3).map(tuple),
    short_circuit=st.none() | _any_text,
    reschedule_at_s=_maybe_times_s,
    started_at_s=_maybe_times_s,
    xcom_lengths=st.dictionaries(_any_text, st.integers(0, 2**40), max_size=3).map(
        lambda lengths: tuple(sorted(lengths.items()))
    ),
    ended_at_s=_maybe_times_s,
)


@st.composite
def _completions(draw: st.DrawFn) -> Completion:
    kind = draw(st.sampled_from(CompletionKind))
    task_id, map_index = draw(_task_ids), draw(_map_indexes)
    run, try_number = draw(_opaque), draw(_tries)
    ti = ti_field(task_id, map_index)
    if kind is CompletionKind.STARTED:
        worker, at_s = draw(_some_text), draw(_times_s)
        return TryStarted(run, ti, task_id, map_index, try_number, worker, at_s)
    if kind is CompletionKind.FINISHED:
        return TryFinished(run, ti, task_id, map_index, try_number, draw(_outcomes))
    dag_id, run_id = draw(_loader_ids | _some_text), draw(_run_ids | _any_text)
    return TryReleased.of(dag_id, run_id, task_id, map_index, try_number)


@given(_completions())
def test_every_completion_round_trips(completion: Completion) -> None:
    fields = completion.to_fields()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert fields["kind"] == completion.kind.value
    assert decode_completion(fields) == completion
    assert type(decode_completion(fields)) is type(completion)


@given(_completions())
def test_completions_keep_the_fields_the_scripts_write(completion: Completion) -> None:
    fields = completion.to_fields()
    head = ["kind", "run", "ti", "try"]
    rest = {"started": ["worker", "at"], "finished": ["outcome"], "released": []}
    assert list(fields) == head + rest[completion.kind.value]
    if isinstance(completion, TryFinished):
        assert fields["outcome"] == encode_outcome(completion.outcome)


def test_the_scripts_write_the_completions_fields() -> None:
    outcome = TaskOutcome(TaskInstanceState.SUCCESS, 1)
    started = TryStarted("d|r", "t|-1", "t", -1, 1, "w", 1.0)
    finished = TryFinished("d|r", "t|-1", "t", -1, 1, outcome)
    assert _lua_xadd_names(CLAIM_MANY, "completions") == list(started.to_fields())
    assert _lua_xadd_names(FINISH_MANY, "completions") == list(finished.to_fields())


_BAD_OUTCOMES = [
    "",
    "x",
    "{}",
    "[]",
    '{"state": 1}',
    '{"state": "success"}',
    '{"state": "success", "try_number": 1, "ended_at_s": "x"}',
    '{"state": "success", "try_number": 1, "started_at_s": true}',
    '{"state": "success", "try_number": 1, "reschedule_at_s": [1]}',
    '{"state": "success", "try_number": 1, "error": 1}',
    '{"state": "success", "try_number": 1, "short_circuit": {}}',
    '{"state": "success", "try_number": 1, "follow": [1]}',
    '{"state": "success", "try_number": 1, "xcom_lengths": {"k": "x"}}',
    '{"state": "success", "try_number": 1, "xcom_lengths": [1]}',
]


@given(_completions(), st.data())
def test_broken_completions_are_refused(completion: Completion, data: st.DataObject) -> None:
    fields = dict(completion.to_fields())
    name = data.draw(st.sampled_from(sorted(set(fields) - {"kind"})))
    bad = {"run": [""], "ti": ["", "t", "t|", "|1", "t|x", "t|1.5"], "try": ["", "x", "1.5"]}
    bad |= {"worker": [""], "at": ["", "x"], "outcome": _BAD_OUTCOMES}
    if data.draw(st.booleans()):
        del fields[name]
    else:
        fields[name] = data.draw(st.sampled_from(bad[name]))
    with pytest.raises(MalformedRecord):
        decode_completion(fields)


@given(_any_fields)
def test_any_completion_entry_decodes_or_is_refused(fields: dict[str, str]) -> None:
    try:
        completion = decode_completion(fields)
    except MalformedRecord:
        return
    assert decode_completion(completion.to_fields()) == completion


def _lua_xadd_names(script: str, stream: str) -> list[str]:
    """The field names (and the type or kind) a script's XADD to ``stream`` writes."""
    key = {"commands": "KEYS[5]", "completions": "KEYS[1]"}[stream]
    call = re.search(rf"'XADD', {re.escape(key)}, [^*]*'\*', (.*?)\)", script, re.DOTALL)
    assert call is not None, f"no XADD to {stream}"
    items = [item.strip() for item in call.group(1).split(",")]
    names = items[0::2]
    assert all(name.startswith("'") and name.endswith("'") for name in names)
    return [name.strip("'") for name in names]


# ---- run events -----------------------------------------------------------------------------

_events = st.one_of(
    st.builds(RunEvent, _loader_ids, _run_ids, st.sampled_from(DagRunState)),
    st.builds(
        TIEvent,
        _loader_ids,
        _run_ids,
        _loader_ids,
        _map_indexes,
        _ti_states,
        _tries,
        _any_text,
    ),
    st.builds(RunTimeoutEvent, _loader_ids, _run_ids),
    st.builds(DagEvent, _loader_ids, _any_text),
    st.just(ImportErrorsEvent()),
)
_other_events = st.dictionaries(
    st.sampled_from(["dag_id", "hash", "worker", "note"]), _any_text, max_size=3
).flatmap(
    lambda extra: st.builds(
        lambda kind: {"kind": kind, **extra},
        _any_text.filter(lambda kind: kind not in set(EventKind)),
    )
)


@given(_events)
def test_every_run_event_round_trips(event: Any) -> None:
    fields = event.to_fields()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert fields["kind"] == event.kind.value
    assert decode_event(fields) == event


@given(_other_events)
def test_events_of_other_kinds_pass_through(fields: dict[str, str]) -> None:
    event = decode_event(fields)
    assert isinstance(event, OtherEvent)
    assert event.to_fields() == fields


def _old_payload(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """api/event_format.event_payload as it was before the typed events."""
    millis = int(entry_id.split("-", 1)[0])
    data: dict[str, Any] = {
        "kind": fields.get("kind", ""),
        "at": datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z"),
    }
    if "run" in fields:
        data["dag_id"], data["run_id"] = parse_run_ref(fields["run"])
    if "ti" in fields:
        data["task_id"], data["map_index"] = parse_ti_field(fields["ti"])
    for name in ("state", "dag_id", "hash", "worker"):
        if name in fields:
            data[name] = fields[name]
    if "try_number" in fields:
        data["try_number"] = int(fields["try_number"])
    return data


@given(_events | _other_events.map(OtherEvent.from_fields), st.integers(0, 2**42))
def test_the_events_json_is_byte_for_byte_the_old_one(event: Any, millis: int) -> None:
    entry_id, fields = f"{millis}-0", event.to_fields()
    assert orjson.dumps(event_payload(entry_id, fields)) == orjson.dumps(
        _old_payload(entry_id, fields)
    )


def test_the_create_run_scripts_event_is_a_run_event() -> None:
    # CREATE_RUN writes: kind run run <ref> state queued
    fields = {"kind": "run", "run": "etl|manual__1", "state": "queued"}
    assert decode_event(fields) == RunEvent("etl", "manual__1", DagRunState.QUEUED)
    assert decode_event(fields).to_fields() == fields


# ---- claim references and stop idents -------------------------------------------------------


@given(_any_text, _any_text, _loader_ids | _any_text, _run_ids | _any_text, _loader_ids)
def test_claim_refs_and_stop_idents_round_trip(
    stream: str, message_id: str, dag_id: str, run_id: str, task_id: str
) -> None:
    ref = ClaimRef(stream, message_id, dag_id, run_id, task_id, -1, 3)
    assert ClaimRef.decode(ref.encode()) == ref
    assert StopIdent.decode(ref.stop_ident.encode()) == ref.stop_ident


# ---- "|"-joined fields of keys.py -----------------------------------------------------------


@given(_loader_ids, _map_indexes, _tries, _any_text)
def test_try_and_xcom_fields_round_trip(task_id: str, index: int, try_: int, key: str) -> None:
    assert parse_try_field(try_field(task_id, index, try_)) == (task_id, index, try_)
    assert try_field(task_id, index, try_) == f"{task_id}|{index}|{try_}"  # the stored form
    assert parse_xcom_field(xcom_field(index, key)) == (index, key)
    assert xcom_field(index, key) == f"{index}|{key}"


@given(_any_text)
def test_log_lines_round_trip(line: str) -> None:
    assert LogLine(line).to_fields() == {"line": line}  # as FINISH_MANY writes it
    assert LogLine.from_fields(LogLine(line).to_fields()) == LogLine(line)
