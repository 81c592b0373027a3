"""How much of a try's output is kept: the pure decisions behind ``TaskLogWriter``.

A try's log is capped in bytes, not lines: one line of 100 MB or a million short lines cost
Redis, the worker and every reader the same as their size. Task processes split a task's long
output lines into pieces of the line cap; a longer line given to the writer in one piece is
cut, with a marker saying how much was cut. Once a try's log reaches its cap, a marker line
says so and the head written so far stays; the lines after it pass through a bounded window
that keeps the last ones (the end of a log is where the error is), written when the try ends
with a second marker counting what was dropped between the two.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

#: What a stream entry costs Redis beyond its text (ID, field name, listpack overhead): counted
#: with each line so that a million empty lines cannot exceed the cap either.
ENTRY_OVERHEAD_BYTES = 32
#: The tail kept after the cap is a quarter of the cap, at most this much.
MAX_TAIL_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LogLimits:
    #: 16 MiB holds about 130,000 lines of 120 characters (more than the 100,000-line cap it
    #: replaces held for ordinary logs) while bounding the worst try to an eighth of the
    #: 128 MB that cap allowed; a page of the log is read in well under a second.
    max_bytes_per_try: int = 16 * 1024 * 1024
    #: 64 KiB: far more than a person reads on one line, and a full read of the API's page
    #: never has to hold more than a few such lines.
    max_line_bytes: int = 64 * 1024

    @property
    def tail_bytes(self) -> int:
        return min(self.max_bytes_per_try // 4, MAX_TAIL_BYTES)

    @property
    def head_bytes(self) -> int:
        return self.max_bytes_per_try - self.tail_bytes


def utf8_size(text: str) -> int:
    # isascii() is O(1) on CPython's str; only other strings are encoded to be measured.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def cut_line(line: str, max_bytes: int) -> str:
    """``line`` if it fits ``max_bytes`` (UTF-8), else its head and a marker of what was cut;
    never encodes more than about ``max_bytes`` of a huge line."""
    if len(line) <= max_bytes // 4 or utf8_size(line) <= max_bytes:
        return line
    head = line[:max_bytes].encode("utf-8", "surrogatepass")[:max_bytes]
    kept = head.decode("utf-8", "ignore")
    rest = line[len(kept) :]
    cut = len(rest) if rest.isascii() else None
    amount = f"{cut:,} bytes" if cut is not None else f"{len(rest):,} characters"
    return f"{kept} [... line cut: {amount} not stored, over the {max_bytes:,}-byte line limit]"


def entry_cost(text: str) -> int:
    return utf8_size(text) + ENTRY_OVERHEAD_BYTES


def truncated_marker(limits: LogLimits) -> str:
    return (
        f"*** log truncated: this try's log reached its limit of {limits.max_bytes_per_try:,}"
        " bytes (AIRLANE_LOG_MAX_BYTES_PER_TRY); later lines are dropped except the last"
        f" {limits.tail_bytes:,} bytes, written when the try ends ***"
    )


def dropped_marker(lines: int, size_bytes: int) -> str:
    return (
        f"*** {lines:,} lines ({size_bytes:,} bytes) dropped here; the try's last lines follow ***"
    )


class LogBudget:
    """Which lines of one try are kept (not thread-safe: its owner holds a lock)."""

    def __init__(self, limits: LogLimits) -> None:
        self.limits = limits
        self.head_left = limits.head_bytes
        self.truncated = False
        self.tail: collections.deque[tuple[str, int]] = collections.deque()
        self.tail_size = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0

    def take(self, text: str) -> bool:
        """Whether ``text`` is kept whole within the head (then counted): the common case,
        without the list ``admit`` builds; when not, nothing is counted (``admit`` decides)."""
        if self.truncated:
            return False
        cost = (len(text) if text.isascii() else utf8_size(text)) + ENTRY_OVERHEAD_BYTES
        if cost > self.head_left:
            return False
        self.head_left -= cost
        return True

    def admit(self, text: str) -> list[str]:
        """The lines to send now for ``text`` (itself, the truncation marker, or nothing)."""
        cost = entry_cost(text)
        if not self.truncated:
            if cost <= self.head_left:
                self.head_left -= cost
                return [text]
            self.truncated = True
            self._keep_in_tail(text, cost)
            return [truncated_marker(self.limits)]
        self._keep_in_tail(text, cost)
        return []

    def _keep_in_tail(self, text: str, cost: int) -> None:
        self.tail.append((text, cost))
        self.tail_size += cost
        while self.tail_size > self.limits.tail_bytes and self.tail:
            _, old = self.tail.popleft()
            self.tail_size -= old
            self.dropped_lines += 1
            self.dropped_bytes += old - ENTRY_OVERHEAD_BYTES

    def seal(self) -> tuple[str | None, list[str]]:
        """At the end of the try: a marker if lines were dropped, and the kept tail."""
        lines = [text for text, _ in self.tail]
        marker = (
            dropped_marker(self.dropped_lines, self.dropped_bytes) if self.dropped_lines else None
        )
        self.tail.clear()
        self.tail_size = 0
        self.dropped_lines = self.dropped_bytes = 0
        return marker, lines
