"""Pure pieces of task isolation: line splitting and the messages of a try's abnormal end."""

from __future__ import annotations

from airlane.sdk.lines import LineSplitter, pieces
from airlane.service.worker.isolated_try import exit_message, import_timeout_message


def test_lines_are_split_at_newlines_and_long_lines_in_pieces() -> None:
    splitter = LineSplitter(max_bytes=4)
    assert splitter.feed(b"ab\ncdefghij\nk") == ["ab", "cdef", "ghij"]
    assert splitter.feed(b"l\n\nxyz") == ["kl", ""]
    assert splitter.close() == ["xyz"]
    assert splitter.close() == []


def test_a_line_without_newline_goes_out_in_pieces_as_it_arrives() -> None:
    splitter = LineSplitter(max_bytes=1000)
    out: list[str] = []
    for _ in range(100):
        out += splitter.feed(b"y" * 95)
    out += splitter.close()
    assert [len(piece) for piece in out] == [1000] * 9 + [500]


def test_pieces_of_a_long_string() -> None:
    assert pieces("abcdefg", 3) == ["abc", "def", "g"]
    assert pieces("ab", 3) == ["ab"]


def test_exit_messages_name_the_code_or_the_signal() -> None:
    assert exit_message(3) == "task process exited with code 3 during the try"
    assert "killed by SIGKILL" in exit_message(-9)
    assert "DagBag import timeout for /d/f.py after 2s" in import_timeout_message("/d/f.py", 2.0)
