"""queue/protocol.py: claim references, stop idents, stream messages and Airflow's run id rule."""

from __future__ import annotations

import logging

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airlane.engine.run_state import TaskOutcome
from airlane.queue.codec import encode_outcome
from airlane.queue.protocol import (
    RUN_ID_MAX_CHARS,
    ClaimRef,
    CommandKind,
    CompletionKind,
    InvalidRunId,
    MalformedRecord,
    StopIdent,
    WorkerBeat,
    decode_command,
    decode_completion,
    decoded_or_none,
    encode_marks,
    run_id_problem,
    validate_run_id,
)
from airlane.sdk.state import TaskInstanceState

# Any text, weighted towards what broke "|"-joined references: separators, unicode, and ids
# as long as Airflow allows (250 characters).
_ids = st.one_of(
    st.text(max_size=RUN_ID_MAX_CHARS),
    st.text(alphabet='|[]",\\é~ \n', min_size=1, max_size=20),
    st.text(alphabet="a|", min_size=RUN_ID_MAX_CHARS, max_size=RUN_ID_MAX_CHARS),
)
_ints = st.integers(min_value=-1, max_value=2**53)


@given(_ids, _ids, _ids, _ids, _ids, _ints, _ints)
def test_claim_ref_round_trips_any_ids(
    stream: str, message: str, dag: str, run: str, task: str, index: int, try_: int
) -> None:
    ref = ClaimRef(stream, message, dag, run, task, index, try_)
    assert ClaimRef.decode(ref.encode()) == ref
    assert ClaimRef.decode(ref.encode().encode()) == ref  # bytes, as Redis may return
    assert ref.stop_ident == StopIdent(dag, run, task, index, try_)


@given(_ids, _ids, _ids, _ints, _ints)
def test_stop_ident_round_trips_any_ids(dag: str, run: str, task: str, index: int, t: int) -> None:
    ident = StopIdent(dag, run, task, index, t)
    assert StopIdent.decode(ident.encode()) == ident
    # Workers compare the encoded form with what the coordinator wrote: one encoding only.
    assert StopIdent.decode(ident.encode()).encode() == ident.encode()


@pytest.mark.parametrize(
    "raw",
    [
        "airlane:q:default|1-0|etl|a|b|load|-1|2",  # the old "|" form
        "",
        "[",
        "{}",
        "null",
        '["s", "1-0", "d", "r", "t", -1]',  # one short
        '["s", "1-0", "d", "r", "t", -1, 1, 2]',  # one too many
        '["s", "1-0", "d", "r", "t", "-1", 1]',  # map index as text
        '["s", "1-0", "d", "r", "t", -1, true]',  # a bool is no try number
        '["s", "1-0", "d", null, "t", -1, 1]',
        '["s", "1-0", "d", "r", "t", 1.5, 1]',
    ],
)
def test_a_malformed_claim_ref_raises_a_clear_value_error(raw: str) -> None:
    with pytest.raises(ValueError, match="claim reference") as err:
        ClaimRef.decode(raw)
    assert isinstance(err.value, MalformedRecord)


def test_a_malformed_stop_ident_raises() -> None:
    with pytest.raises(MalformedRecord, match="stop ident"):
        StopIdent.decode("d|r|t|-1|1")
    with pytest.raises(MalformedRecord, match="stop ident"):
        StopIdent.decode('["d", "r", "t", -1]')


# ---- run ids: Airflow's rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    "run_id",
    [
        "manual__2024-01-01T00:00:00+00:00",  # Airflow's generated forms (RUN_ID_REGEX)
        "scheduled__2024-01-01T00:00:00+00:00",
        "asset_triggered__2024-01-01T00:00:00+00:00",
        "backfill__2024-01-01T00:00:00.123456+00:00",
        "my-run_1.2:3+4~5",  # every character allowed_run_id_pattern lists
        "~~",
        "a" * RUN_ID_MAX_CHARS,
    ],
)
def test_run_ids_airflow_accepts(run_id: str) -> None:
    assert run_id_problem(run_id) is None
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize(
    ("run_id", "why"),
    [
        ("a|b", "ASCII letters"),
        ("é", "ASCII letters"),  # \w would take it; Airflow's [A-Za-z0-9] does not
        ("run id", "ASCII letters"),
        ("a/b", "ASCII letters"),
        ("a\n", "ASCII letters"),  # Airflow's re.match with $ lets this through; we do not
        ("", "non-empty"),
        ("a" * (RUN_ID_MAX_CHARS + 1), "at most 250"),
        ("~", "wildcard"),
        (None, "non-empty string"),
        (5, "non-empty string"),
    ],
)
def test_run_ids_refused(run_id: object, why: str) -> None:
    problem = run_id_problem(run_id)
    assert problem is not None
    assert why in problem
    with pytest.raises(InvalidRunId, match=why):
        validate_run_id(run_id)


# ---- stream messages ------------------------------------------------------------------------


def test_completions_decode_each_kind() -> None:
    started = decode_completion(
        {"kind": "started", "run": "d|r", "ti": "t|3", "try": "2", "worker": "w", "at": "1.5"}
    )
    assert (started.kind, started.task_id, started.map_index, started.try_number) == (
        CompletionKind.STARTED,
        "t",
        3,
        2,
    )
    assert (started.worker, started.at_s) == ("w", 1.5)
    outcome = TaskOutcome(TaskInstanceState.SUCCESS, 2)
    finished = decode_completion(
        {
            "kind": "finished",
            "run": "d|r",
            "ti": "t|-1",
            "try": "2",
            "outcome": encode_outcome(outcome),
        }
    )
    assert finished.outcome == outcome
    released = decode_completion({"kind": "released", "run": "d|r", "ti": "t|-1", "try": "1"})
    assert released.kind is CompletionKind.RELEASED


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"kind": "bogus", "run": "d|r", "ti": "t|-1", "try": "1"},
        {"kind": "finished", "run": "d|r", "ti": "t|-1", "try": "1"},  # no outcome
        {"kind": "finished", "run": "d|r", "ti": "t|-1", "try": "1", "outcome": "not json"},
        {"kind": "finished", "run": "d|r", "ti": "t|-1", "try": "1", "outcome": '{"state": 1}'},
        {"kind": "started", "run": "d|r", "ti": "t|-1", "try": "1", "worker": "w", "at": "x"},
        {"kind": "started", "run": "d|r", "ti": "t|-1", "try": "1", "at": "1"},  # no worker
        {"kind": "released", "run": "d|r", "ti": "t", "try": "1"},
        {"kind": "released", "run": "d|r", "ti": "t|x", "try": "1"},
        {"kind": "released", "run": "d|r", "ti": "|1", "try": "1"},
        {"kind": "released", "run": "d|r", "ti": "t|-1", "try": "one"},
        {"kind": "released", "ti": "t|-1", "try": "1"},
    ],
)
def test_malformed_completions_raise(fields: dict[str, str]) -> None:
    with pytest.raises(MalformedRecord):
        decode_completion(fields)


def test_commands_decode() -> None:
    clear = decode_command({"type": "clear", "run": "d|r", "task_ids": '["a", "b"]'})
    assert (clear.kind, clear.run, clear.task_ids) == (CommandKind.CLEAR, "d|r", ("a", "b"))
    mark = decode_command({"type": "mark", "run": "d|r", "ti": "t|-1", "state": "success"})
    assert mark.marks == ((("t", -1), TaskInstanceState.SUCCESS),)
    fields = {"type": "mark", "run": "d|r", **encode_marks({"a|-1": "success", "b|2": "failed"})}
    assert decode_command(fields).marks == (
        (("a", -1), TaskInstanceState.SUCCESS),
        (("b", 2), TaskInstanceState.FAILED),
    )
    assert decode_command({"type": "tick"}).kind is CommandKind.TICK
    updated = decode_command({"type": "dag_updated", "dag_id": "d", "hash": "h"})
    assert (updated.dag_id, updated.content_hash) == ("d", "h")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"type": "unknown"},
        {"type": "run_created"},
        {"type": "dag_updated", "dag_id": "d"},
        {"type": "paused"},
        {"type": "clear", "run": "d|r", "task_ids": "not json"},
        {"type": "clear", "run": "d|r", "task_ids": "[1]"},
        {"type": "clear", "run": "d|r", "task_ids": '{"a": 1}'},
        {"type": "mark", "run": "d|r", "ti": "t|-1", "state": "bogus"},
        {"type": "mark", "run": "d|r", "ti": "t", "state": "success"},
        {"type": "mark", "run": "d|r", "marks": "{}"},
        {"type": "mark", "run": "d|r", "marks": "[]"},
        {"type": "mark", "run": "d|r", "marks": '{"t|-1": "bogus"}'},
        {"type": "mark", "run": "d|r", "marks": '{"t": "success"}'},
    ],
)
def test_malformed_commands_raise(fields: dict[str, str]) -> None:
    with pytest.raises(MalformedRecord):
        decode_command(fields)


def test_worker_beat_decodes_and_refuses() -> None:
    raw = orjson.dumps({"running": ["x"], "heartbeat_at": 3, "other": 1})
    assert WorkerBeat.decode(raw) == WorkerBeat(3.0, ("x",))
    for bad in ("not json", "[]", '{"running": "x"}', '{"running": [1]}', '{"heartbeat_at": "x"}'):
        with pytest.raises(MalformedRecord):
            WorkerBeat.decode(bad)


def test_decoded_or_none_logs_and_skips_only_decoding_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test.protocol")
    with caplog.at_level(logging.ERROR, logger="test.protocol"):
        assert decoded_or_none(ClaimRef.decode, "a|b", "ref", logger) is None
        assert decoded_or_none(int, "x", "number", logger) is None
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("skipping a malformed ref: claim reference is not JSON")
    assert messages[1].startswith("skipping a malformed number (ValueError(")

    def broken(_: str) -> None:
        raise RuntimeError("a bug, not a bad record")

    with pytest.raises(RuntimeError):
        decoded_or_none(broken, "x", "thing", logger)


def test_the_loader_refuses_ids_with_a_bar_which_keys_split_on() -> None:
    """keys.parse_ti_field / parse_run_ref split on "|": the loader must keep it out of ids."""
    from airlane.dag_loader.validate import validate_dag
    from airlane.sdk import DAG
    from airlane.sdk.exceptions import AirflowException
    from airlane.sdk.operators.empty import EmptyOperator
    from airlane.sdk.taskgroup import TaskGroup

    with DAG("grouped", schedule=None) as dag, TaskGroup("a|b"):
        EmptyOperator(task_id="t")
    with pytest.raises(AirflowException, match=r"task_id 'a\|b.t'"):
        validate_dag(dag)
    with DAG("fine", schedule=None) as dag, TaskGroup("group"):
        EmptyOperator(task_id="t")
    validate_dag(dag)


def test_a_run_with_unreadable_instance_records_is_rebuilt_without_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The coordinator rebuilding a run: a bad record is dropped (logged), and a task left with
    no instance starts over from state none."""
    from airlane.engine.run_state import TIKey, TIRecord
    from airlane.queue.codec import TIMeta, encode_ti
    from airlane.service.stored_records import decode_tis
    from tests.unit.graphs import graph

    done = TIRecord(state=TaskInstanceState.SUCCESS, try_number=1)
    raw = {
        "a|-1": encode_ti(done, TIMeta(worker="w")),
        "b|-1": "not json",
        "c|x": encode_ti(done, TIMeta()),
        "gone|-1": encode_ti(done, TIMeta()),  # a task the run's graph does not have
    }
    with caplog.at_level(logging.ERROR, logger="airlane.coordinator"):
        records, metas = decode_tis(raw, graph({"a": ["b"], "b": ["c"], "c": []}), "d|r")
    assert records == {TIKey("a"): done, TIKey("b"): TIRecord(), TIKey("c"): TIRecord()}
    assert metas == {TIKey("a"): TIMeta(worker="w")}
    assert len(caplog.records) == 3  # the bad record, the bad field, the unknown task
