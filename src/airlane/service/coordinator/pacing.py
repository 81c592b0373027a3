"""When the coordinator reads again: at once, or after a short wait that lets completions
nothing waits on gather (pure: no I/O).

With the fast path, a success's finish script has already queued and started its successor:
the coordinator only records what happened (states, events, slots). In a chain it used to
wake, read, decide and write once per task, on the cores and the Redis the chain's own hops
need (session 16: with the coordinator paused, a 200-task chain's hop p50 fell from 0.37-0.48
to 0.27-0.34 ms). The same holds for the end of a task without downstream tasks (a
fan-out's leaves): nothing but the run's end follows from it. After a pass that read such a
finish and queued nothing itself, it waits a little before its next read, so that one pass
records several tasks: nothing waits on it meanwhile but the record (and a run's end, at most
that much later). A pass that queued a task (the coordinator drives that edge), or read no
such finish (a chain or a fan-in the coordinator drives, a failure upstream of others), reads
again at once.
"""

from __future__ import annotations


def wait_before_read_s(read_quiet_finish: bool, queued_any: bool, fast_batch_s: float) -> float:
    """How long to wait before the next read (0: at once). ``read_quiet_finish``: the pass
    read a fast-path finish or a leaf's."""
    if read_quiet_finish and not queued_any:
        return fast_batch_s
    return 0.0


def quiet_finish(fast: bool, downstream: tuple[str, ...] | None) -> bool:
    """Whether nothing waits on the coordinator for a try's end: the fast path started its
    successors (``fast``), or its task has no downstream tasks (``downstream``: None for a
    task the coordinator does not know, which it only logs)."""
    return fast or downstream == ()
