"""The event stream's pure parts: stream ids, admission limits, bounded subscriptions, fan-out."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from airlane.api.event_format import EventFilter, next_id, parse_stream_id
from airlane.api.event_hub import Admission, Backfill, EventHub, EventStreamSettings, Subscription
from airlane.queue.keys import Keys


def test_stream_ids_are_checked_as_redis_reads_them() -> None:
    assert parse_stream_id("1700000000000-0") == (1700000000000, 0)
    assert parse_stream_id("18446744073709551615-18446744073709551615") == (2**64 - 1, 2**64 - 1)
    for bad in ("99999999999999999999999-0", "18446744073709551616-0", "1-18446744073709551616"):
        assert parse_stream_id(bad) is None
    for bad in ("yesterday", "1", "-1-0", "1-", "$", "1-0 ", "\uff11-0"):
        assert parse_stream_id(bad) is None


def test_the_next_id_is_the_exclusive_start_of_a_range() -> None:
    assert next_id("5-3") == "5-4"
    assert next_id(f"5-{2**64 - 1}") == "6-0"
    assert next_id(f"{2**64 - 1}-{2**64 - 1}") is None


def test_admission_counts_per_user_and_in_all() -> None:
    admission = Admission(max_per_user=2, max_clients=3)
    assert admission.admit("ann") is None
    assert admission.admit("ann") is None
    assert "this user" in (admission.admit("ann") or "")
    assert admission.admit("bob") is None
    assert "this server" in (admission.admit("cid") or "")
    admission.release("ann")
    assert admission.admit("cid") is None
    assert admission.total == 3


def test_settings_come_from_the_environment() -> None:
    env = {"AIRLANE_API_SSE_MAX_PER_USER": "7", "AIRLANE_API_SSE_QUEUE_FRAMES": "9"}
    settings = EventStreamSettings.from_env(env)
    assert (settings.max_per_user, settings.queue_frames) == (7, 9)
    assert settings.max_clients == EventStreamSettings().max_clients


def test_a_subscription_that_overflows_is_dropped_and_its_reader_woken() -> None:
    async def scenario() -> None:
        sub = Subscription(EventFilter(), "0-0", capacity=2)
        assert sub.offer(b"a")
        assert sub.offer(b"b")
        assert await sub.take(0.01) == [b"a", b"b"]
        assert await sub.take(0.01) == []  # nothing queued: the caller sends a keepalive
        waiting = asyncio.create_task(sub.take(60))
        await asyncio.sleep(0)
        assert sub.offer(b"c")
        assert sub.offer(b"d")
        assert not sub.offer(b"e")
        assert await waiting == []
        assert sub.dropped
        assert not sub.offer(b"f")

    asyncio.run(scenario())


def _hub() -> EventHub:
    hub = EventHub(cast(Any, None), cast(Any, None), Keys(""))
    hub._last = "5-0"  # as if the reader had started
    return hub


def _ti(state: str, task_id: str = "t") -> dict[str, str]:
    return {"kind": "ti", "run": "d|r", "ti": f"{task_id}|-1", "state": state, "try_number": "1"}


def test_the_hub_offers_each_entry_to_the_subscriptions_that_want_it() -> None:
    async def scenario() -> None:
        hub = _hub()
        everything, _ = hub.subscribe(EventFilter(), "0-0", 10)
        other_run, _ = hub.subscribe(EventFilter("d", "other"), "0-0", 10)
        resumed, newest = hub.subscribe(EventFilter(), "7-0", 10)  # ahead of the reader
        assert newest == "5-0"
        hub._publish("6-0", {"kind": "run", "run": "d|r", "state": "running"})
        hub._publish("8-0", {"kind": "run", "run": "d|r", "state": "success"})
        assert [f.split(b"\n")[0] for f in await everything.take(0)] == [b"id: 6-0", b"id: 8-0"]
        assert await other_run.take(0) == []
        assert [f.split(b"\n")[0] for f in await resumed.take(0)] == [b"id: 8-0"]

    asyncio.run(scenario())


def test_a_slow_subscription_is_dropped_and_forgotten() -> None:
    async def scenario() -> None:
        hub = _hub()
        slow, _ = hub.subscribe(EventFilter(), "0-0", 1)
        fast, _ = hub.subscribe(EventFilter(), "0-0", 10)
        for n in range(6, 9):
            hub._publish(f"{n}-0", {"kind": "run", "run": "d|r", "state": "running"})
        assert slow.dropped
        assert slow not in hub._subs.get(EventFilter(), set())
        assert len(await fast.take(0)) == 3

    asyncio.run(scenario())


def test_log_tails_start_at_the_first_line_or_backfill_what_others_already_read() -> None:
    async def scenario() -> None:
        hub = _hub()
        first, _ = hub.subscribe(EventFilter("d", "r", "t", logs=True), "0-0", 10)
        hub._publish("6-0", _ti("running"))
        stream = Keys("").log("d", "r", "t", -1, 1)
        assert hub._tails[stream].subscribers == {first}
        hub._tails[stream].last = "9-0"  # the log reader has read up to there
        second, _ = hub.subscribe(EventFilter("d", "r", "t", logs=True), "0-0", 10)
        hub._publish("7-0", _ti("running"))
        items = await second.take(0)
        assert isinstance(items[1], Backfill)
        assert items[1].upto == "9-0"
        hub.unsubscribe(first)
        hub.unsubscribe(second)
        assert hub._tails == {}

    asyncio.run(scenario())


def test_logs_without_a_task_tail_every_try_the_filter_wants() -> None:
    hub = _hub()
    sub, _ = hub.subscribe(EventFilter("d", "r", logs=True), "0-0", 10)
    hub._publish("6-0", _ti("running", "a"))
    hub._publish("7-0", _ti("running", "b"))
    hub._publish("8-0", _ti("success", "c"))
    assert set(hub._tails) == {Keys("").log("d", "r", task, -1, 1) for task in "ab"}
    hub.unsubscribe(sub)
    assert hub._tails == {}
