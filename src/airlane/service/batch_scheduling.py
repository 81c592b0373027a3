"""Linux' ``SCHED_BATCH`` for the processes whose work is throughput, not a hop's latency.

With the fast path, a hop ran in a worker until session 15: the finish script claimed the
successor and the worker's event loop started it. Under load the worker shares the cores with
its task processes (user code), the coordinator and the DAG processor, and Linux' fair scheduler
let any of them preempt the worker when it woke: a worker that sent a try to its task process,
or a command the coordinator waited on, gave its core to the process it woke and waited for its
slice to end, with every try's end it had not handled yet. In Airflow's 100 x 10 scenario after
a 10,000-task fan-out (docs/benchmarks.md) that was about half of the total lag. Since session
15 the task process that ran a success finishes it and starts the successor itself
(service/worker/finish_here.py), and its ``done`` frame wakes the worker just as the successor
starts: the worker runs under it too, so that it does not preempt that start (a quiet 200-task
chain, six runs each: hop p50 0.35 to 0.48 ms against 0.38 to 0.48, p99 0.96 to 1.22 against
0.92 to 1.60; alternating runs against the session's start, the hop's p99 to the claim 0.45 to
0.72 ms in eight against 0.35 to 3.73 ms in seven without; a chain the coordinator drives, the
fast path off, a fan-out and Airflow's scenario unchanged).

A ``SCHED_BATCH`` process gets the same share of CPU as before (same weight, same nice level)
but does not preempt the running process when it wakes: it runs at the next scheduling point
or on an idle core. Task processes (and their fork template), the workers, the coordinator and
the DAG processor enter it at start; the API server, the triggerer and Redis do not. Threads
and child processes inherit it (a BashOperator's shell too). No privilege is needed.
``AIRLANE_BATCH_SCHEDULING=off`` leaves every process ordinary.

Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: the environment variable that turns it on or off
ENV = "AIRLANE_BATCH_SCHEDULING"
_ON = frozenset({"on", "true", "yes", "1"})
_OFF = frozenset({"off", "false", "no", "0"})


def enabled_from_env(env: Mapping[str, str]) -> bool:
    """Whether ``AIRLANE_BATCH_SCHEDULING`` asks for it (on when unset); a ValueError naming
    the variable for anything but on/off (true/false, yes/no, 1/0)."""
    value = env.get(ENV, "on").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{ENV}={value!r}: expected on or off")


def enter_batch() -> bool:
    """Run the calling thread (and the threads and processes it starts from now on) under
    ``SCHED_BATCH``; False where the platform has no such policy or refuses it."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError:
        return False
    return True


def runs_batch(pid: int = 0) -> bool:
    """Whether ``pid``'s main thread (0: the calling thread) runs under ``SCHED_BATCH``."""
    policy: int | None = getattr(os, "SCHED_BATCH", None)
    if policy is None or not hasattr(os, "sched_getscheduler"):
        return False
    return bool(os.sched_getscheduler(pid) == policy)
