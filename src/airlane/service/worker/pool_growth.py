"""When the worker's task pool starts another task process (pure, no processes or clocks).

A new task process costs about half a second of CPU (importing Airlane, then the DAG file),
a warm try about a millisecond. So a try that finds every process busy first waits for one to
come free, as long as recent tries say that should take (``grace_s``), clamped to 10 ms ..
50 ms. After its grace it is owed a new process (overdue) if the processes are saturated (they
spend most of the time they are held running tries, not waiting for a busy worker to hand them
the next one) or if none came free during that grace; else it waits another grace. Short tries
thus reuse the busy processes, and a try behind long ones waits at most two graces plus a spawn.
"""

from __future__ import annotations

#: A waiter is overdue after this many times the wait that recent tries predict.
GRACE_FACTOR = 2.0
#: Bounds of a waiter's grace: longer than a time slice of a loaded machine (a process not
#: scheduled is no stall) .. what a long try can afford before its own process.
MIN_GRACE_S = 0.01
MAX_GRACE_S = 0.05
#: Weight of the newest try in the running mean of try durations.
MEAN_WEIGHT = 1 / 16


#: Processes are saturated when they run tries this fraction of the time they are held.
SATURATED = 0.5


class TryDurations:
    """Running means of how long tries held their task process (acquire to release, worker
    side) and how long the process ran them (request to "done", its side)."""

    def __init__(self) -> None:
        self.mean_s: float | None = None  # none finished yet
        self.ran_mean_s = 0.0

    def observe(self, held_s: float, ran_s: float) -> None:
        ran_s = min(ran_s, held_s)
        if self.mean_s is None:
            self.mean_s, self.ran_mean_s = held_s, ran_s
        else:
            self.mean_s += (held_s - self.mean_s) * MEAN_WEIGHT
            self.ran_mean_s += (ran_s - self.ran_mean_s) * MEAN_WEIGHT

    def saturated(self) -> bool:
        """More processes would run more tries: they are not mostly waiting for the worker."""
        return self.mean_s is None or self.ran_mean_s >= SATURATED * self.mean_s


def overdue(
    *,
    saturated: bool,
    released_meanwhile: bool,
    below_floor: bool,
    machine_busy: bool = False,
    worker_behind: bool = False,
) -> bool:
    """Whether a waiter whose grace has passed is owed a new process. Below the floor (a
    process per CPU of the worker's share, ``cpu_share``) the pool grows on waiting alone:
    tries on one process use one CPU.
    Saturated processes that still come free get no company while the machine's CPUs are all
    busy: a new one would only compete for them (its start alone costs half a second of CPU);
    tries that are stuck (none came free in the grace) still get one.
    ``worker_behind``: a busy process has sent something the worker has not read yet (a try's
    end, mostly): the worker, not the processes, is what the tries wait for (its loop was
    starved of CPU or busy during the grace), and another process would not serve them sooner;
    on a loaded machine such waits made the pool grow by processes that then idled."""
    if below_floor:
        return True
    if worker_behind:
        return False
    return (saturated and not machine_busy) or not released_meanwhile


def grace_s(mean_try_s: float | None, ahead: int, busy: int, spawning: int) -> float:
    """How long a new waiter waits for a process to come free before one is started for it.

    ``ahead``: waiters queued before it; ``busy``: processes running a try; ``spawning``:
    processes being started. Its expected wait is ``(ahead + 1)`` tries spread over ``busy``.
    """
    if busy == 0:
        # nothing will come free: wait for a process being started, else start one now
        return MAX_GRACE_S if spawning else 0.0
    if mean_try_s is None:
        return MAX_GRACE_S
    expected_s = mean_try_s * (ahead + 1) / busy
    return min(MAX_GRACE_S, max(MIN_GRACE_S, GRACE_FACTOR * expected_s))


def spawns_to_start(
    *, size: int, max_size: int, spawning: int, overdue: int, max_parallel: int
) -> int:
    """New processes to start now: one per overdue waiter not already served by a spawn in
    flight, within the pool's size and the spawns allowed at once."""
    return max(0, min(max_size - size, max_parallel - spawning, overdue - spawning))
