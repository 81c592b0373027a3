"""Where the time goes: CPU per task of each process, and py-spy's hottest frames.

CPU times come from ``/proc/<pid>/stat`` (every thread of the process), machine idle time from
``/proc/stat``; frames from ``py-spy record --format raw`` attached to running services.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            found[int(entry.name)] = int(fields[1])
    return found


def descendants(roots: list[int]) -> list[int]:
    """Every process below ``roots`` (a worker's task processes and their fork template)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, parent in _parent_pids().items():
        children[parent].append(pid)
    found: list[int] = []
    todo = list(roots)
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = process_cpu_s(pid)
        except OSError:
            continue  # ended meanwhile
    return found


class CpuMeter:
    """CPU seconds each of ``pids`` used between ``start`` and ``stop``, and machine load.
    ``below``: name -> pids whose descendants' CPU is counted under that name (a worker's task
    processes: they are not the worker's threads, and their CPU reaches the worker's own
    counts only once they exit). A descendant started meanwhile counts whole; one that ended
    meanwhile is missed (task processes retire after minutes idle)."""

    def __init__(self, pids: dict[str, int], below: dict[str, list[int]] | None = None) -> None:
        self.pids = pids
        self.below = below or {}
        self._before: dict[str, float] = {}
        self._below_before: dict[str, dict[int, float]] = {}
        self._machine: tuple[int, int] = (0, 0)

    def start(self) -> None:
        self._before = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        self._below_before = {
            name: _cpu_of(descendants(roots)) for name, roots in self.below.items()
        }
        self._machine = _machine_ticks()

    def _below_used(self) -> dict[str, float]:
        used = {}
        for name, roots in self.below.items():
            before = self._below_before.get(name, {})
            now = _cpu_of(descendants(roots))
            used[name] = sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())
        return used

    def stop(self, tasks: int) -> dict[str, Any]:
        used = {name: process_cpu_s(pid) - self._before[name] for name, pid in self.pids.items()}
        used.update(self._below_used())
        busy, total = _machine_ticks()
        d_busy, d_total = busy - self._machine[0], total - self._machine[1]
        return {
            "cpu_us_per_task": {name: s / tasks * 1e6 for name, s in used.items()},
            "total_cpu_us_per_task": sum(used.values()) / tasks * 1e6,
            "machine_busy_fraction": d_busy / d_total if d_total else 0.0,
        }


def py_spy() -> str | None:
    """py-spy on the PATH, else the one installed beside this Python (``.venv/bin``: make bench
    runs ``.venv/bin/python`` without activating the venv)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


@contextmanager
def sampled(pids: dict[str, int], out_dir: Path, rate_hz: int = 200) -> Iterator[dict[str, Any]]:
    """py-spy on each of ``pids`` for the duration; yields a dict filled with each one's
    hottest frames on exit (empty when py-spy is missing or may not attach)."""
    found: dict[str, Any] = {}
    exe = py_spy()
    if exe is None:
        yield found
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = {
        name: subprocess.Popen(
            [
                *(exe, "record", "--format", "raw", "--rate", str(rate_hz), "--nonblocking"),
                *("--output", str(out_dir / f"{name}.txt"), "--pid", str(pid)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    }
    time.sleep(1.0)  # py-spy takes a moment to attach
    try:
        yield found
    finally:
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)
        for name, spy in spies.items():
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                continue
            path = out_dir / f"{name}.txt"
            if path.exists():
                found[name] = hottest(path.read_text())


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``."""
    func, _, where = frame.partition(" (")
    return f"{func} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else func


def hottest(raw: str, top: int = 12) -> dict[str, Any]:
    """Self and inclusive shares of the busiest frames, leaving out idle pool threads."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or "Thread._bootstrap" in stack:
            # thread-pool threads: idle waits that py-spy cannot tell from work
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        n = int(count)
        samples += n
        self_time[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
    if not samples:
        return {"samples": 0}
    skip = ("runpy", "__main__", "run_forever", "run_until_complete", "Runner.run", "main (")
    return {
        "samples": samples,
        "self": [(name, n / samples) for name, n in self_time.most_common(top)],
        "inclusive": [
            (name, n / samples)
            for name, n in inclusive.most_common(top * 3)
            if not any(s in name for s in skip)
        ][:top],
    }
