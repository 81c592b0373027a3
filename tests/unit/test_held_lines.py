"""A task process's log lines: a quick try's travel in its end frame, a long try's are sent
while it runs, and many lines at once are sent without waiting."""

from __future__ import annotations

import threading
from typing import Any

from airlane.service.worker.held_lines import MAX_HELD_LINES, HeldLines


class _Channel:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.sent = threading.Event()

    def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self.sent.set()


def test_a_quick_tries_lines_go_with_its_end_and_no_frame_before() -> None:
    channel = _Channel()
    held = HeldLines(channel.send, flush_s=60.0)
    held.add("one")
    held.add("two")
    with held.take_for() as lines:
        channel.send({"t": "done", "ls": lines})
    assert channel.frames == [{"t": "done", "ls": ["one", "two"]}]
    with held.take_for() as lines:
        assert lines == []  # taken once


def test_a_line_of_a_running_try_is_sent_after_the_flush_delay() -> None:
    channel = _Channel()
    held = HeldLines(channel.send, flush_s=0.001)
    held.add("live")
    assert channel.sent.wait(10.0)
    assert channel.frames == [{"t": "logs", "ls": ["live"]}]
    with held.take_for() as lines:
        assert lines == []


def test_many_lines_are_sent_at_once() -> None:
    channel = _Channel()
    held = HeldLines(channel.send, flush_s=60.0)
    for i in range(MAX_HELD_LINES):
        held.add(str(i))
    assert channel.frames == [{"t": "logs", "ls": [str(i) for i in range(MAX_HELD_LINES)]}]
    held.add("x" * 300_000)  # too long to hold
    assert channel.frames[-1] == {"t": "logs", "ls": ["x" * 300_000]}
