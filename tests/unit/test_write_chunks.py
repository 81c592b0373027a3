"""A long batch written in several calls: each queued instance's record, task message and
event in one call (Persister.write_chunks), the calls' operations those of the batch in order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from airlane.engine.run_state import TIKey
from airlane.queue.codec import decode_ti
from airlane.queue.keys import ti_field
from airlane.queue.scripts import Batch
from airlane.service.run_context import RunContext
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph


def test_calls_hold_the_messages_in_order_the_rest_first_and_the_acks_last() -> None:
    batch = Batch()
    batch.hset("run", "state", "running")
    for own in ("1", "2", "3"):
        batch.xadd_entry("q", 10, ["m", own])
        batch.xadd_entry("events", 10, ["ti", own])
    batch.xack("commands", "group", "1-0")
    batch.sadd("active", "r")
    messages = [1, 3, 5]
    calls = batch.calls(messages, 2)
    assert [call.ops for call in calls] == [
        [
            ["H", "run", "state", "running"],
            ["S", "active", "r"],
            ["X", "q", "10", ["m", "1"]],
            ["X", "events", "10", ["ti", "1"]],
            ["X", "q", "10", ["m", "2"]],
            ["X", "events", "10", ["ti", "2"]],
        ],
        [
            ["X", "q", "10", ["m", "3"]],
            ["X", "events", "10", ["ti", "3"]],
            ["A", "commands", "group", ["1-0"]],
        ],
    ]


def _expanded(tasks: int, max_active: int) -> tuple[Any, RunContext]:
    session = offline_session()
    session.state.admission.pool_slots = {"default_pool": 10_000}
    g = graph({f"t{i:02d}": [] for i in range(tasks)})
    ctx = add_run(session, "d", "r", g, max_active_tasks=max_active)
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    return session, ctx


def _records(chunk: Batch) -> dict[str, str]:
    pairs = [item for op in chunk.ops if op and op[0] == "M" for item in op[2]]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def test_each_call_holds_the_records_messages_and_events_of_its_queued_instances() -> None:
    session, ctx = _expanded(30, max_active=20)  # 20 queued, 10 scheduled (waiting)
    persister, keys = session.outbox.persister, session.keys
    chunks = list(persister.write_chunks(session.outbox.batch, 8))
    assert len(chunks) > 3
    events: Counter[str] = Counter()
    for number, chunk in enumerate(chunks):
        records = _records(chunk)
        for op in chunk.ops:
            if op and op[:2] == ["X", keys.queue("default")]:
                task_id = orjson.loads(op[3][1])[2]
                record = decode_ti(records[ti_field(task_id, -1)])[0]
                assert (record.state.value, record.try_number) == ("queued", 1)
            if op[:2] != ["X", keys.events]:
                continue
            fields = dict(zip(op[3][::2], op[3][1::2], strict=True))
            if "ti" in fields:
                events[fields["ti"]] += 1
                if fields["state"] == "queued":  # its record and message in this call too
                    assert fields["ti"] in records
        if number > 0:  # the records of instances that did not go: in the first call
            assert all(decode_ti(v)[0].state.value == "queued" for v in records.values())
    assert set(events.values()) == {1}  # one event per instance (the scheduled one dropped)
    assert len(events) == 30
    written = {field for chunk in chunks for field in _records(chunk)}
    assert written == {ti_field(key.task_id, key.map_index) for key in ctx.machine.tis}


def test_a_short_batch_is_one_call_as_before() -> None:
    session, ctx = _expanded(5, max_active=16)
    chunks = list(session.outbox.persister.write_chunks(session.outbox.batch, 1000))
    assert len(chunks) == 1
    ops = [op for op in chunks[0].ops if op]
    assert [op[0] for op in ops][:1] == ["M"]  # the records first
    assert ctx.machine.tis[TIKey("t00")].state.value == "queued"


def test_shared_entries_of_one_stream_group_over_other_keys_writes() -> None:
    from airlane.queue.scripts.apply import shared_entry
    from airlane.queue.scripts.wire import KeyTable

    batch = Batch()
    for own in ("1", "2"):
        batch.xadd_entry("q", 10, shared_entry("m", "[", own, "]"))
        batch.xadd_entry("events", 10, ["ti", own])
    batch.hset("q", "f", "v")  # another write to the stream: the next XADD starts anew
    batch.xadd_entry("q", 10, shared_entry("m", "[", "3", "]"))
    batch.drop(1)
    wired = orjson.loads(batch.wire(KeyTable("lease")))
    q, events = 2, 3
    assert wired == [
        ["Q", q, "10", "m", "[", "]", ["1", "2"]],
        ["X", events, "10", ["ti", "2"]],
        ["H", q, "f", "v"],
        ["Q", q, "10", "m", "[", "]", ["3"]],
    ]


def test_a_queued_event_s_shared_fields_are_its_entry() -> None:
    from airlane.queue.events_protocol import ti_event_entry, ti_event_parts
    from airlane.queue.scripts.apply import shared_fields
    from airlane.sdk.state import TaskInstanceState as S

    head, tail = ti_event_parts("d|r", S.QUEUED, 2)
    assert shared_fields(head, "t|-1", tail) == ti_event_entry("d|r", "t|-1", S.QUEUED, 2)
