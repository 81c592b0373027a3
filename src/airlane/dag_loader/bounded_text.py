"""Text kept within a size: the head and the tail of what was written, the middle cut.

An import's output and its error tracebacks are kept this way: the head says where things
started (the DAG file's first frame, its first prints), the tail how they ended (the
exception), and a file printing gigabytes costs a few kilobytes.
"""

from __future__ import annotations

import collections
import io

#: the share of the budget given to the head; the rest keeps the tail, which matters more
HEAD_SHARE = 4


def clip_middle(text: str, max_chars: int) -> str:
    """``text`` if it fits, else its head and tail around a marker saying what was cut."""
    if len(text) <= max_chars:
        return text
    head = max_chars // HEAD_SHARE
    tail = max_chars - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut:,} characters cut ...]\n{text[len(text) - tail :]}"


class BoundedText(io.TextIOBase):
    """A write-only text stream keeping at most ``max_chars`` (head and tail) of its input."""

    def __init__(self, max_chars: int) -> None:
        super().__init__()
        self.head_max = max_chars // HEAD_SHARE
        self.tail_max = max_chars - self.head_max
        self._head: list[str] = []
        self._head_size = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_size = 0
        self.cut_chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        written = len(text)
        room = self.head_max - self._head_size
        if room > 0:
            self._head.append(text[:room])
            self._head_size += min(room, written)
            text = text[room:]
        if not text:
            return written
        if len(text) >= self.tail_max:
            self.cut_chars += self._tail_size + len(text) - self.tail_max
            self._tail.clear()
            text = text[len(text) - self.tail_max :]
            self._tail_size = 0
        self._tail.append(text)
        self._tail_size += len(text)
        while self._tail_size > self.tail_max:
            extra = self._tail_size - self.tail_max
            oldest = self._tail[0]
            if len(oldest) <= extra:
                self._tail.popleft()
                self._tail_size -= len(oldest)
                self.cut_chars += len(oldest)
            else:
                self._tail[0] = oldest[extra:]
                self._tail_size -= extra
                self.cut_chars += extra
        return written

    def getvalue(self) -> str:
        head = "".join(self._head)
        tail = "".join(self._tail)
        if not self.cut_chars:
            return head + tail
        return f"{head}\n[... {self.cut_chars:,} characters cut ...]\n{tail}"
