"""Splitting a byte stream into log lines, with long lines cut into pieces of bounded size.

A log line is one Redis stream entry and one frame between a task process and its worker:
bounding it bounds both (a 100 MB line without a newline would otherwise be held whole).
"""

from __future__ import annotations

MAX_LINE_BYTES = 64 * 1024


def pieces(line: str, max_bytes: int = MAX_LINE_BYTES) -> list[str]:
    """``line`` cut into pieces of at most ``max_bytes`` in UTF-8 (one piece when short)."""
    if len(line) <= max_bytes // 4:
        return [line]
    # ASCII (the usual case; isascii() is O(1)): a character is a byte. Otherwise up to four.
    max_chars = max_bytes if line.isascii() else max(1, max_bytes // 4)
    if len(line) <= max_chars:
        return [line]
    return [line[i : i + max_chars] for i in range(0, len(line), max_chars)]


class LineSplitter:
    """Feed raw bytes, get whole lines back (decoded, without the newline)."""

    def __init__(self, encoding: str = "utf-8", max_bytes: int = MAX_LINE_BYTES) -> None:
        self.encoding = encoding
        self.max_bytes = max_bytes
        self._partial = bytearray()

    def _decode(self, raw: bytes | bytearray) -> str:
        return bytes(raw).decode(self.encoding, errors="backslashreplace")

    def feed(self, data: bytes) -> list[str]:
        self._partial += data
        lines: list[str] = []
        start = 0
        while True:
            # A newline within the next piece ends a line; without one, a full piece goes out
            # as it is (an over-long line is kept in pieces, never held whole).
            end = self._partial.find(b"\n", start, start + self.max_bytes + 1)
            if end >= 0:
                lines.append(self._decode(self._partial[start:end]))
                start = end + 1
            elif len(self._partial) - start >= self.max_bytes:
                lines.append(self._decode(self._partial[start : start + self.max_bytes]))
                start += self.max_bytes
            else:
                break
        del self._partial[:start]
        return lines

    def close(self) -> list[str]:
        """The last, unterminated line (if any)."""
        if not self._partial:
            return []
        rest = self._decode(self._partial)
        self._partial.clear()
        return [rest]
