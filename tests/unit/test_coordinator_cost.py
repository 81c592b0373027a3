"""The coordinator's cheaper paths give what the general ones gave (issue 19's per-event cost)."""

from __future__ import annotations

from dataclasses import replace

from airlane.engine.run_state import TIKey, TIRecord, moved
from airlane.engine.state_machine import RunMachine, initial_records
from airlane.queue.codec import TIMeta, decode_ti
from airlane.queue.keys import ti_field
from airlane.queue.scripts import Batch
from airlane.sdk.state import TaskInstanceState as S
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph


def test_moved_is_replace_of_state_try_and_due_time() -> None:
    record = TIRecord(
        S.UP_FOR_RETRY,
        try_number=2,
        max_tries=4,
        next_at_s=12.5,
        reschedule_started_at_s=3.0,
        follow=("x",),
        short_circuit="all",
        cascade_skip=True,
        xcom_lengths=(("k", 3),),
        note="boom",
        rendered_map_index="m",
        resumed=True,
    )
    fast = moved(record, S.SCHEDULED, 3, None)
    assert fast == replace(record, state=S.SCHEDULED, try_number=3, next_at_s=None)
    assert hash(fast) == hash(replace(record, state=S.SCHEDULED, try_number=3, next_at_s=None))


def test_ti_keys_hash_compare_and_sort_by_task_then_map_index() -> None:
    keys = [TIKey("b"), TIKey("a", 2), TIKey("a", 0), TIKey("a")]
    assert sorted(keys) == [TIKey("a"), TIKey("a", 0), TIKey("a", 2), TIKey("b")]
    assert {TIKey("a", 1): 1}[TIKey(task_id="a", map_index=1)] == 1
    assert TIKey("a").map_index == -1
    assert TIKey("a", 3).label() == "a[3]"


def test_a_new_run_starts_as_one_built_from_its_initial_records() -> None:
    g = graph({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, d={"retries": 2})
    fresh, built = RunMachine(g), RunMachine(g, initial_records(g))
    assert fresh.tis == built.tis
    assert fresh.start(1.0) == built.start(1.0)
    second = RunMachine(g)  # a second run of the same version is not touched by the first
    assert second.tis == initial_records(g)
    assert second.upstream_counts("d") == RunMachine(g, initial_records(g)).upstream_counts("d")


def test_the_enqueued_message_is_the_task_message_s_entry() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": [], "b": []}))
    for key, extra in ((TIKey("a"), {}), (TIKey("b"), {"resumed": True})):
        ctx.machine.tis[key] = replace(ctx.machine.tis[key], reschedule_started_at_s=4.5, **extra)
        assert ctx.message_fields(key, 7.25) == ctx.message(key, 7.25).to_fields()


def test_a_run_s_records_are_written_in_one_hset_of_many_fields() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({f"t{i}": [] for i in range(1500)}))
    batch = session.outbox.persister.write_records(Batch())
    tis_key = session.keys.tis("d", "r")
    bulk = [op for op in batch.ops if op[0] == "M"]
    assert [op[1] for op in bulk] == [tis_key, tis_key]  # 1,000 fields per operation at most
    pairs = [item for op in bulk for item in op[2]]
    written = dict(zip(pairs[::2], pairs[1::2], strict=True))
    assert len(written) == 1500
    record, meta = decode_ti(written[ti_field("t7", -1)])
    assert record == ctx.machine.tis[TIKey("t7")]
    assert meta == ctx.meta.get(TIKey("t7"), TIMeta())


def test_hset_many_splits_what_lua_cannot_unpack_at_once() -> None:
    batch = Batch()
    batch.hset_many("k", [str(i) for i in range(4002)])
    assert [len(op[2]) for op in batch.ops] == [2000, 2000, 2]


def test_the_shared_starting_state_goes_with_its_dag_version() -> None:
    import gc
    import weakref

    from airlane.engine import state_machine

    g = graph({"a": ["b"], "b": []})
    RunMachine(g)
    assert g in state_machine._FRESH_RUNS
    gone = weakref.ref(g)
    del g
    gc.collect()
    # the cached state held its graph: a weak key kept alive for ever by its own value
    assert gone() is None


def test_a_reserved_try_number_is_skipped_by_the_next_try() -> None:
    from airlane.engine.run_state import TaskOutcome

    m = RunMachine(graph({"a": ["b"], "b": []}))
    m.start(1.0)
    a, b = TIKey("a"), TIKey("b")
    m.task_queued(a)
    assert m.task_started(a, 1)
    # a fast-path try 1 of b was claimed, then overruled while b waited (state none, try 0)
    m.reserve_try(b, 1)
    assert (m.tis[b].state, m.tis[b].try_number) == (S.NONE, 1)
    m.task_finished(a, TaskOutcome(S.SUCCESS, 1), 2.0)
    assert (m.tis[b].state, m.tis[b].try_number) == (S.SCHEDULED, 2)


def test_flat_entries_are_the_fields_flattened() -> None:
    from airlane.queue.events_protocol import ti_event_entry, ti_event_fields

    for worker in ("", "w1"):
        fields = ti_event_fields("d|r", "t", S.QUEUED, 3, worker)
        entry = ti_event_entry("d|r", "t", S.QUEUED, 3, worker)
        assert entry == [item for pair in fields.items() for item in pair]
    batch = Batch()
    batch.xadd_entry("k", 10, ["a", "1"])
    batch.replace_xadd_entry(0, "k", ["a", "2"])
    assert batch.ops == [["X", "k", "10", ["a", "2"]]]
