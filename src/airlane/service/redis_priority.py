"""CPU priority for a redis-server Airlane starts itself (``airlane standalone``, the benchmarks).

Every hop crosses Redis, one command at a time. When Redis shares a machine's cores with busy
workers and task processes, Linux' fair scheduler lets a runnable redis-server wait for a core
until the running process's slice ends (1.4 ms by default on 2 cores), and each command queued
behind it waits too: on the 2-core benchmark machine this, not Redis' own work, was most of the
total lag of Airflow's 100 x 10 scenario (docs/benchmarks.md).

``realtime`` runs Redis' main thread at ``SCHED_FIFO`` priority 1, the lowest realtime priority
and above every ordinary process, so that it takes a core as soon as a command arrives. It sleeps
when idle, so it takes no more CPU than before, and Linux' realtime throttling
(``kernel.sched_rt_runtime_us``, 95 % by default) keeps a core for everyone else should it ever
spin. ``SCHED_RESET_ON_FORK`` makes the children Redis forks (the append-only file rewrite, a
snapshot) ordinary processes. Setting it needs ``CAP_SYS_NICE`` (root) or an ``RLIMIT_RTPRIO`` of
at least 1; without it Redis stays an ordinary process and the outcome says why.

Since session 13 the default is ``normal``. Task processes, the coordinator and the DAG
processor now run under ``SCHED_BATCH`` (service/batch_scheduling.py): an ordinary Redis that
wakes preempts them at once, and waits only for a worker's slice. A realtime Redis also
preempts the workers on every command, which then lose their core in the middle of a pass: in
the same ``bench.fast_path_bench`` run (2 rounds), realtime Redis cost a quarter of the fan-out's
throughput (1,775 against 2,385 tasks/s) and made the hop to execution start slower (0.72
against 0.43 ms), for the same Airflow scenario (2.8 against 2.8 s to execution start).
``realtime`` stays available for hosts where Redis shares cores with other busy software.

This module uses the standard library only: ``bench.ab`` copies it beside the round it runs
against older checkouts, so that every checkout's Redis runs at the same priority.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

#: the environment variable that chooses the priority
ENV = "AIRLANE_REDIS_PRIORITY"
#: Redis' main thread's realtime priority: the lowest there is
REALTIME_PRIORITY = 1


class RedisPriority(StrEnum):
    REALTIME = "realtime"
    NORMAL = "normal"


#: what Airlane asks for when the environment does not say
DEFAULT = RedisPriority.NORMAL


@dataclass(frozen=True, slots=True)
class PriorityOutcome:
    """The priority Redis runs at, and why it is not the one asked for (empty when it is)."""

    priority: RedisPriority
    reason: str = ""

    def describe(self) -> str:
        if self.priority is RedisPriority.REALTIME:
            return f"realtime (SCHED_FIFO {REALTIME_PRIORITY})"
        return "normal" + (f" ({self.reason})" if self.reason else "")


def priority_from_env(env: Mapping[str, str]) -> RedisPriority:
    """The priority ``AIRLANE_REDIS_PRIORITY`` asks for; a ValueError naming it when unknown."""
    value = env.get(ENV, DEFAULT.value).strip().lower()
    try:
        return RedisPriority(value)
    except ValueError:
        choices = ", ".join(p.value for p in RedisPriority)
        raise ValueError(f"{ENV}={value!r}: expected one of {choices}") from None


def apply_priority(pid: int, wanted: RedisPriority) -> PriorityOutcome:
    """Run process ``pid``'s main thread at ``wanted``; ``normal`` also undoes ``realtime``."""
    if wanted is RedisPriority.NORMAL:
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
        return PriorityOutcome(RedisPriority.NORMAL)
    if not hasattr(os, "sched_setscheduler"):
        return PriorityOutcome(RedisPriority.NORMAL, "this platform has no sched_setscheduler")
    policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
    try:
        os.sched_setscheduler(pid, policy, os.sched_param(REALTIME_PRIORITY))
    except PermissionError:
        reason = "realtime needs CAP_SYS_NICE (root) or an RLIMIT_RTPRIO of at least 1"
        return PriorityOutcome(RedisPriority.NORMAL, reason)
    return PriorityOutcome(RedisPriority.REALTIME)


def current_priority(pid: int) -> RedisPriority:
    """The priority process ``pid``'s main thread runs at."""
    policy = os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK
    return RedisPriority.REALTIME if policy == os.SCHED_FIFO else RedisPriority.NORMAL
