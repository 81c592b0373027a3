"""The CPUs a worker's task pool may count as its own: the floor of processes it keeps under way.

A pool grows to one process per CPU on waiting alone, and keeps that many tries under way
without asking whether the machine is busy (``TaskPool._spare``). Several workers on one
machine (``airlane standalone --workers 2``, replicas of a compose file) each see every CPU:
two workers on 2 CPUs kept four tries under way, and in Airflow's 100 x 10 scenario every try
under way is a run under way whose each edge waits for a CPU behind the others (total lag to
execution start 1.0 to 1.5 s; with the machine's CPUs shared between the two, 0.6 to 0.9 s).

So a worker counts the live workers on its machine (its heartbeat registers it under the
kernel's boot id, which every container of one host shares) and takes its share of the CPUs
it can run on. A cgroup CPU quota (v2's ``cpu.max``, v1's ``cpu.cfs_quota_us``) gives a worker
CPUs of its own (a Kubernetes limit): those are not shared out, they bound the count.
"""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True, slots=True)
class Cpus:
    """``count`` CPUs this process may run on; ``own``: a cgroup quota reserves them for it."""

    count: int
    own: bool = False


def process_floor(cpus: Cpus, workers_on_machine: int) -> int:
    """Processes a worker keeps under way unconditionally: its share of the machine's CPUs
    (all of them for a worker alone, or one whose quota makes them its own), at least one."""
    if cpus.own:
        return max(1, cpus.count)
    return max(1, cpus.count // max(1, workers_on_machine))


def quota_cpus(cpu_max: str) -> int | None:
    """CPUs a cgroup v2 ``cpu.max`` line allows (``"max 100000"``: no limit; v1's quota and
    period read the same, ``"-1 100000"``: no limit), rounded up."""
    fields = cpu_max.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def _own_cgroup(self_cgroup: Path, root: Path) -> Path | None:
    try:
        for line in self_cgroup.read_text().splitlines():
            if line.startswith("0::"):  # cgroup v2's unified hierarchy
                return root / line[3:].lstrip("/")
    except OSError:
        return None
    return None


def _tightest_quota(group: Path, root: Path) -> int | None:
    """The smallest quota of ``group`` and its parents up to ``root`` (each one bounds it)."""
    found: int | None = None
    while True:
        try:
            cpus = quota_cpus((group / "cpu.max").read_text())
        except OSError:
            cpus = None
        if cpus is not None:
            found = cpus if found is None else min(found, cpus)
        if group == root or root not in group.parents:
            return found
        group = group.parent


def _v1_quota(self_cgroup: Path, root: Path) -> int | None:
    """The quota of cgroup v1's ``cpu`` controller (``cpu.cfs_quota_us``, -1: none), in the
    process's group, else at the controller's mount (a container sees its own group there)."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = [*line.split(":", 2), "", ""][:3]
        if "cpu" not in controllers.split(","):
            continue
        for mount in (root / controllers, root / "cpu,cpuacct", root / "cpu"):
            for group in (mount / path.lstrip("/"), mount):
                try:
                    quota = (group / "cpu.cfs_quota_us").read_text().strip()
                    period = (group / "cpu.cfs_period_us").read_text().strip()
                except OSError:
                    continue
                return quota_cpus(f"{quota} {period}")
    return None


def usable_cpus(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> Cpus:
    """The CPUs this process may run on (its affinity), bounded by its cgroup's CPU quota
    (cgroup v2's ``cpu.max``, else v1's ``cpu.cfs_quota_us``)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    group = _own_cgroup(self_cgroup, root)
    quota = _tightest_quota(group, root) if group is not None else None
    if quota is None:
        quota = _v1_quota(self_cgroup, root)
    if quota is not None and quota < count:
        return Cpus(quota, own=True)
    return Cpus(count)


def machine_id(boot_id: Path = BOOT_ID) -> str:
    """What the workers sharing this machine's CPUs have in common: the kernel's boot id
    (containers of one host share it), else the host name."""
    try:
        found = boot_id.read_text().strip()
    except OSError:
        found = ""
    return found or socket.gethostname()


class CpuShare:
    """A worker's CPUs and the live workers on its machine (written by the heartbeat's thread
    after each beat, read by the pool on the event loop: one int, replaced whole)."""

    def __init__(self, cpus: Cpus, machine: str) -> None:
        self.cpus = cpus
        self.machine = machine
        self.workers_on_machine = 1

    @classmethod
    def of_this_process(cls) -> CpuShare:
        return cls(usable_cpus(), machine_id())

    def floor(self) -> int:
        return process_floor(self.cpus, self.workers_on_machine)
