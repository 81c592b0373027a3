"""A worker's share of its machine's CPUs (service/worker/cpu_share.py): pure parts and the
readings of procfs and cgroup files, on stand-in trees."""

from __future__ import annotations

import os
from pathlib import Path

from airlane.service.worker.cpu_share import (
    Cpus,
    CpuShare,
    machine_id,
    process_floor,
    quota_cpus,
    usable_cpus,
)


def test_workers_sharing_a_machine_share_its_cpus() -> None:
    assert process_floor(Cpus(8), workers_on_machine=1) == 8
    assert process_floor(Cpus(2), workers_on_machine=2) == 1  # standalone --workers 2 on 2 CPUs
    assert process_floor(Cpus(8), workers_on_machine=3) == 2
    assert process_floor(Cpus(2), workers_on_machine=5) == 1  # never below one
    assert process_floor(Cpus(2), workers_on_machine=0) == 2  # not counted yet: alone


def test_cpus_a_quota_reserves_are_not_shared_out() -> None:
    assert process_floor(Cpus(2, own=True), workers_on_machine=4) == 2


def test_a_quota_reads_as_whole_cpus_rounded_up() -> None:
    assert quota_cpus("max 100000") is None
    assert quota_cpus("200000 100000") == 2
    assert quota_cpus("150000 100000") == 2
    assert quota_cpus("50000 100000") == 1
    assert quota_cpus("") is None
    assert quota_cpus("x y") is None


def _cgroup_tree(tmp_path: Path, limits: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for group, cpu_max in limits.items():
        (root / group).mkdir(parents=True, exist_ok=True)
        (root / group / "cpu.max").write_text(cpu_max + "\n")
    own = tmp_path / "self_cgroup"
    own.write_text("0::/pods/worker\n")
    (root / "pods" / "worker").mkdir(parents=True, exist_ok=True)
    return root, own


def test_the_tightest_quota_of_the_group_and_its_parents_bounds_the_cpus(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    root, own = _cgroup_tree(tmp_path, {"pods": "100000 100000", "pods/worker": "max 100000"})
    found = usable_cpus(root, own)
    assert found == (Cpus(1, own=True) if affinity > 1 else Cpus(affinity))


def test_no_quota_leaves_the_cpus_the_process_may_run_on(tmp_path: Path) -> None:
    root, own = _cgroup_tree(tmp_path, {"pods/worker": "max 100000"})
    assert usable_cpus(root, own) == Cpus(len(os.sched_getaffinity(0)))
    assert usable_cpus(root, tmp_path / "absent") == Cpus(len(os.sched_getaffinity(0)))


def test_a_cgroup_v1_quota_bounds_the_cpus_too(tmp_path: Path) -> None:
    """As a container sees it: its group at the controller's mount, under the host's path."""
    affinity = len(os.sched_getaffinity(0))
    root = tmp_path / "cgroup"
    mount = root / "cpu,cpuacct"
    mount.mkdir(parents=True)
    (mount / "cpu.cfs_quota_us").write_text("100000\n")
    (mount / "cpu.cfs_period_us").write_text("100000\n")
    own = tmp_path / "self_cgroup"
    own.write_text("4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    found = usable_cpus(root, own)
    assert found == (Cpus(1, own=True) if affinity > 1 else Cpus(affinity))
    (mount / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    assert usable_cpus(root, own) == Cpus(affinity)
    assert quota_cpus("-1 100000") is None


def test_the_machine_is_the_kernel_boot_else_the_host(tmp_path: Path) -> None:
    boot = tmp_path / "boot_id"
    boot.write_text("3f1c\n")
    assert machine_id(boot) == "3f1c"
    assert machine_id(tmp_path / "absent")  # the host name


def test_the_share_follows_the_workers_counted_on_the_machine() -> None:
    share = CpuShare(Cpus(4), "m")
    assert share.floor() == 4
    share.workers_on_machine = 2
    assert share.floor() == 2
