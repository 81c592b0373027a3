"""A watcher event's dedupe key: short whatever its trigger's kwargs, one per watcher and entry."""

from __future__ import annotations

from airlane.service.triggerer.watcher_record import dedupe_key


def test_a_dedupe_key_is_short_and_tells_watchers_and_entries_apart() -> None:
    long_watcher = "airlane.sdk.triggers.redis_stream.RedisStreamTrigger|" + "x" * 2000
    key = dedupe_key(long_watcher, "1733500000000-0")
    assert len(key) < 50
    assert key == dedupe_key(long_watcher, "1733500000000-0")
    assert key != dedupe_key(long_watcher, "1733500000000-1")
    assert key != dedupe_key(long_watcher + "y", "1733500000000-0")
    assert key.startswith("watcher|")
    assert key.endswith("|1733500000000-0")
