"""The byte caps on a try's log, the head-and-tail text of DAG imports, log page tokens."""

from __future__ import annotations

import random
import threading

import pytest
import redis.asyncio as aioredis

from airlane.config import Settings
from airlane.dag_loader.bounded_text import BoundedText, clip_middle
from airlane.dag_loader.isolated import ImportLimits
from airlane.queue.log_pages import BadToken, decode_token, encode_token
from airlane.service.worker.log_limits import ENTRY_OVERHEAD_BYTES, LogBudget, LogLimits, cut_line
from airlane.service.worker.log_writer import TaskLogWriter


def test_a_line_within_the_cap_is_kept_whole() -> None:
    assert cut_line("short", 64) == "short"
    assert cut_line("é" * 32, 64) == "é" * 32  # 64 bytes exactly


def test_a_huge_line_is_cut_with_the_amount_cut() -> None:
    cut = cut_line("y" * 100_000_000, 1000)
    assert cut.startswith("y" * 1000 + " [... line cut: 99,999,000 bytes not stored")
    assert len(cut) < 1100
    wide = cut_line("é" * 10_000, 1001)  # never half a character
    kept = wide.split(" [...", 1)[0]
    assert kept == "é" * 500
    assert "9,500 characters not stored" in wide


def test_past_the_cap_one_marker_then_the_last_lines_after_a_count() -> None:
    limits = LogLimits(max_bytes_per_try=4000, max_line_bytes=100)
    budget = LogBudget(limits)
    sent: list[str] = []
    for i in range(1000):
        sent.extend(budget.admit(f"line {i:04d}"))
    marker, tail = budget.seal()
    assert sum(1 for line in sent if "log truncated" in line) == 1
    kept = [line for line in sent if "***" not in line] + tail
    cost = sum(len(line) + ENTRY_OVERHEAD_BYTES for line in kept)
    assert cost <= limits.max_bytes_per_try
    assert sent[0] == "line 0000"
    assert tail[-1] == "line 0999"
    dropped = 1000 - len(kept)
    assert marker is not None
    assert marker.startswith(f"*** {dropped:,} lines ({dropped * 9:,} bytes) dropped here")


def test_the_writer_holds_at_most_its_cap_whatever_threads_write() -> None:
    limits = LogLimits(max_bytes_per_try=64 * 1024, max_line_bytes=1024)
    # Never started and never flushed: everything written waits in the writer.
    writer = TaskLogWriter(aioredis.Redis(), "log:test", 60, limits)

    def produce(n: int) -> None:
        for i in range(20_000):
            writer.write(f"thread {n} line {i} " + "x" * 50)
        writer.write("z" * 10_000_000)

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines, _ = writer.take()
    markers = [line for line in lines if "***" in line]
    assert len(markers) == 2
    text = [line for line in lines if line not in markers]
    assert sum(len(line) + ENTRY_OVERHEAD_BYTES for line in text) <= limits.max_bytes_per_try
    assert max(len(line) for line in lines) < 1024 + 200  # huge lines were cut
    assert "line cut: 9,998,976 bytes not stored" in lines[-1]  # the last thing written


@pytest.mark.parametrize("seed", range(5))
def test_bounded_text_keeps_exactly_the_head_and_the_tail(seed: int) -> None:
    rng = random.Random(seed)
    stream = BoundedText(1000)
    written = []
    for _ in range(300):
        chunk = str(rng.randrange(10)) * rng.choice([0, 1, 7, 100, 999, 1000, 5000])
        stream.write(chunk)
        written.append(chunk)
    full = "".join(written)
    head, tail = full[:250], full[len(full) - 750 :]
    expected = f"{head}\n[... {len(full) - 1000:,} characters cut ...]\n{tail}"
    assert stream.getvalue() == (full if len(full) <= 1000 else expected)
    assert clip_middle(full, 1000) == stream.getvalue()


def test_a_short_text_is_kept_whole() -> None:
    stream = BoundedText(1000)
    print("hello", file=stream)
    assert stream.getvalue() == "hello\n"
    assert clip_middle("hello", 10) == "hello"


def test_page_tokens_round_trip_and_strangers_are_refused() -> None:
    assert decode_token(encode_token("1700000000000-12")) == "1700000000000-12"
    assert decode_token(encode_token(None)) == "0-0"
    for bad in ("", "not-a-token", encode_token("x") + "A", "bG9nX3BvczpoZWxsbw"):
        with pytest.raises(BadToken):
            decode_token(bad)


def test_the_limits_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "AIRLANE_LOG_MAX_BYTES_PER_TRY": "1000",
            "AIRLANE_LOG_MAX_LINE_BYTES": "100",
            "AIRLANE_DAG_IMPORT_MEMORY_MB": "512",
            "AIRLANE_DAG_IMPORT_OUTPUT_MAX_CHARS": "2048",
        }
    )
    assert (settings.log_max_bytes_per_try, settings.log_max_line_bytes) == (1000, 100)
    assert settings.import_limits == ImportLimits(memory_mb=512, output_max_chars=2048)
