"""How busy the machine's CPUs are, sampled from ``/proc/stat`` at most every ``interval_s``.

The task pool asks it before it starts another process for saturated ones: on a machine whose
CPUs are all busy a new process competes for the same CPUs, and its start costs about half a
second of CPU. ``/proc/stat`` is procfs (memory, no disk): reading it takes microseconds.
"""

from __future__ import annotations

import time
from pathlib import Path

#: The machine counts as busy when its CPUs were at least this busy since the last sample.
BUSY_FRACTION = 0.9
#: Samples closer than this reuse the last answer.
INTERVAL_S = 0.25
PROC_STAT = Path("/proc/stat")


def cpu_times(line: str) -> tuple[int, int]:
    """(busy, total) jiffies from the ``cpu`` line of ``/proc/stat`` (idle and iowait idle)."""
    fields = [int(v) for v in line.split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])  # guest time is already counted in user and nice
    return total - idle, total


def busy_fraction(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of CPU time spent busy between two samples (0 when no time passed)."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


class MachineLoad:
    """``busy()``: whether the CPUs were nearly all busy lately (False where /proc is absent)."""

    def __init__(self, source: Path = PROC_STAT) -> None:
        self._source = source
        self._last: tuple[int, int] | None = None
        self._last_at = 0.0
        self._busy = False

    def busy(self) -> bool:
        now = time.monotonic()
        if now - self._last_at < INTERVAL_S and self._last is not None:
            return self._busy
        sample = self._sample()
        if sample is None:
            return False
        if self._last is not None:
            self._busy = busy_fraction(self._last, sample) >= BUSY_FRACTION
        self._last, self._last_at = sample, now
        return self._busy

    def _sample(self) -> tuple[int, int] | None:
        try:
            with self._source.open() as stat:
                return cpu_times(stat.readline())
        except (OSError, ValueError, IndexError):
            return None
