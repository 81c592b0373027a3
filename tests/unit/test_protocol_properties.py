"""Every stream message round-trips through its encoding, and the wire forms are the old ones.

Ids are drawn as each place allows them: DAG and task ids as the loader accepts them (``\\w``,
so unicode, and up to 250 characters; never ``|``), run ids as Airflow's rule accepts them,
and text that travels opaquely (inside JSON, or as a whole field) as any text, ``|`` included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
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
    ClaimRef,
    Command,
    CommandKind,
    Completion,
    CompletionKind,
    StopIdent,
    encode_marks,
    run_id_problem,
)
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

_marks = st.dictionaries(
    st.tuples(_loader_ids, _map_indexes), _ti_states, min_size=1, max_size=4
).map(lambda marks: tuple(marks.items()))

_commands = st.one_of(
    st.builds(Command, st.just(CommandKind.RUN_CREATED), run=_run_refs),
    st.builds(
        Command, st.just(CommandKind.DAG_UPDATED), dag_id=_loader_ids, content_hash=_some_text
    ),
    st.builds(
        Command, st.sampled_from([CommandKind.PAUSED, CommandKind.UNPAUSED]), dag_id=_loader_ids
    ),
    st.builds(
        Command,
        st.just(CommandKind.BACKFILL),
        backfill_id=st.none() | st.integers(min_value=1, max_value=2**53),
    ),
    st.builds(Command, st.sampled_from([CommandKind.POOLS, CommandKind.TICK])),
    st.builds(
        Command,
        st.just(CommandKind.CLEAR),
        run=_run_refs,
        task_ids=st.lists(_any_text, max_size=5).map(tuple),
    ),
    st.builds(Command, st.just(CommandKind.MARK), run=_run_refs, marks=_marks),
)


@given(_commands)
def test_every_command_round_trips(command: Command) -> None:
    fields = command.to_fields()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert fields["type"] == command.kind.value
    assert Command.from_fields(fields) == command


def _old_command_fields(command: Command) -> dict[str, str]:
    """What the producers wrote by hand before the encoders (store.py, backfill.py...)."""
    kind = command.kind
    if kind is CommandKind.DAG_UPDATED:
        return {"type": kind, "dag_id": command.dag_id, "hash": command.content_hash}
    if kind in (CommandKind.PAUSED, CommandKind.UNPAUSED):
        return {"type": kind, "dag_id": command.dag_id}
    if kind is CommandKind.BACKFILL:
        return {"type": kind, "id": str(command.backfill_id)}
    if kind is CommandKind.CLEAR:
        return {"type": kind, "run": command.run, "task_ids": dumps(list(command.task_ids))}
    if kind is CommandKind.MARK:
        marks = {ti_field(*key): state.value for key, state in command.marks}
        return {"type": "mark", "run": command.run, **encode_marks(marks)}
    if kind is CommandKind.RUN_CREATED:  # the create_run script's fields
        return {"type": kind, "run": command.run}
    return {"type": kind}


@given(_commands.filter(lambda c: c.backfill_id is not None or c.kind is not CommandKind.BACKFILL))
def test_commands_keep_their_wire_form(command: Command) -> None:
    fields = command.to_fields()
    assert list(fields.items()) == list(_old_command_fields(command).items())


@given(_run_refs, _marks)
def test_a_mark_from_the_api_fields_is_the_mark_command(run: str, marks: Any) -> None:
    by_field = {ti_field(*key): state.value for key, state in marks}
    assert Command.marking(run, by_field) == Command(CommandKind.MARK, run=run, marks=marks)


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
    task_id, map_index = draw(_loader_ids), draw(_map_indexes)
    run, try_number = draw(_run_refs), draw(_tries)
    ti = ti_field(task_id, map_index)
    if kind is CompletionKind.STARTED:
        worker, at_s = draw(_some_text), draw(_times_s)
        return Completion(kind, run, ti, task_id, map_index, try_number, worker, at_s)
    if kind is CompletionKind.FINISHED:
        outcome = draw(_outcomes)
        return Completion(kind, run, ti, task_id, map_index, try_number, outcome=outcome)
    dag_id, run_id = parse_run_ref(run)
    return Completion.released(dag_id, run_id, task_id, map_index, try_number)


@given(_completions())
def test_every_completion_round_trips(completion: Completion) -> None:
    fields = completion.to_fields()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    assert Completion.from_fields(fields) == completion


@given(_completions())
def test_completions_keep_the_fields_the_scripts_write(completion: Completion) -> None:
    fields = completion.to_fields()
    head = ["kind", "run", "ti", "try"]
    rest = {"started": ["worker", "at"], "finished": ["outcome"], "released": []}
    assert list(fields) == head + rest[completion.kind.value]
    if completion.outcome is not None:
        assert fields["outcome"] == encode_outcome(completion.outcome)


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
