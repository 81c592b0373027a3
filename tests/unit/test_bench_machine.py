"""bench.floor's machine figure: a wake-up round trip between two processes."""

from __future__ import annotations

import os

from bench.floor import wake_rtt_us


def test_wake_round_trip_on_one_cpu_and_on_two() -> None:
    before = os.sched_getaffinity(0)
    one = wake_rtt_us(same_cpu=True, rounds=50)
    two = wake_rtt_us(same_cpu=False, rounds=50)
    assert one is not None
    assert one > 0
    if len(before) < 2:
        assert two is None
    else:
        assert two is not None
        assert two > 0
    assert os.sched_getaffinity(0) == before  # the caller's CPUs are given back
