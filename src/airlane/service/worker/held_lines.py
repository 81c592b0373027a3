"""A task process's log lines on their way to the worker: held briefly, so that a quick try's
lines travel in its "done" frame (one frame per try instead of one per line, and one wake-up
of the worker's loop), while a long try's lines still reach the worker within ``FLUSH_S``.

A thread sends what is held ``FLUSH_S`` after the first line arrives (frame "logs"); so does a
line that makes the held lines too many or too long. Lines are sent under the holder's lock,
which ``take_for`` holds too while the try's end is sent: lines never overtake each other or
the end of their try, and a worker that stops reading (its log backlog is full) makes the next
line wait (backpressure, as with a frame per line).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: The longest a line waits in the task process before it is sent to the worker.
FLUSH_S = 0.02
#: Held lines are sent at once when there are this many, or this many characters.
MAX_HELD_LINES = 256
MAX_HELD_CHARS = 256 * 1024


class HeldLines:
    """``add`` a line from any thread; ``take_for`` the end of a try, with what is still held."""

    def __init__(self, send: Callable[[dict[str, Any]], None], flush_s: float = FLUSH_S) -> None:
        self._send = send
        self._flush_s = flush_s
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._chars = 0
        self._held = threading.Event()  # set when a first line is held
        threading.Thread(target=self._flush_later, daemon=True, name="held-lines").start()

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            self._chars += len(line)
            if len(self._lines) >= MAX_HELD_LINES or self._chars >= MAX_HELD_CHARS:
                self._send_held()
            elif len(self._lines) == 1:
                self._held.set()

    @contextmanager
    def take_for(self) -> Iterator[list[str]]:
        """The lines held now, for the frame sent within (no line is sent meanwhile)."""
        with self._lock:
            lines, self._lines, self._chars = self._lines, [], 0
            yield lines

    def _send_held(self) -> None:
        """Under the lock."""
        lines, self._lines, self._chars = self._lines, [], 0
        self._send({"t": "logs", "ls": lines})

    def _flush_later(self) -> None:
        while True:
            self._held.wait()
            time.sleep(self._flush_s)
            self._held.clear()
            with self._lock:
                if self._lines:
                    try:
                        self._send_held()
                    except OSError:  # the worker closed the channel: this process ends
                        return
