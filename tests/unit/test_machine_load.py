"""The machine's CPU load as the task pool's growth reads it (/proc/stat)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlane.service.worker import machine_load
from airlane.service.worker.machine_load import MachineLoad, busy_fraction, cpu_times


def test_cpu_times_count_idle_and_iowait_as_idle() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    assert cpu_times("cpu  10 0 5 80 5 0 0 0 3 0") == (15, 100)


def test_busy_fraction_between_two_samples() -> None:
    assert busy_fraction((15, 100), (105, 200)) == pytest.approx(0.9)
    assert busy_fraction((15, 100), (15, 100)) == 0.0


def _stat(path: Path, busy: int, idle: int) -> None:
    path.write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n")


def test_the_machine_is_busy_when_its_cpus_were_nearly_all_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine_load, "INTERVAL_S", 0.0)
    stat = tmp_path / "stat"
    _stat(stat, busy=100, idle=100)
    load = MachineLoad(stat)
    assert not load.busy()  # one sample: nothing to compare with yet
    _stat(stat, busy=195, idle=105)  # 95 % busy since
    assert load.busy()
    _stat(stat, busy=245, idle=155)  # 50 %
    assert not load.busy()


def test_no_proc_stat_means_not_busy(tmp_path: Path) -> None:
    assert not MachineLoad(tmp_path / "absent").busy()
