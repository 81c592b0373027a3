"""A removed run's deferral entries: its instances' ``deferred`` entries and trigger timeouts
and its tries' ``resumes`` entries (in shared hashes, so not deleted with the run's own keys).
A trigger left with no waiter is dropped by the triggerer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airlane.queue.keys import Keys, deferred_field, resume_field


def forget_run_deferrals(
    pipe: Any, keys: Keys, dag_id: str, run_id: str, last_tries: Mapping[tuple[str, int], int]
) -> None:
    """Queue on ``pipe`` (a redis pipeline) the removal of the entries of run ``run_id``'s
    instances, ``last_tries`` mapping each (task id, map index) to its last try."""
    fields = [deferred_field(dag_id, run_id, t, m) for t, m in sorted(last_tries)]
    resumes = [
        resume_field(dag_id, run_id, t, m, n)
        for (t, m), last in sorted(last_tries.items())
        for n in range(1, last + 1)
    ]
    if fields:
        pipe.hdel(keys.deferred, *fields)
        pipe.zrem(keys.trigger_timeouts, *fields)
    if resumes:
        pipe.hdel(keys.resumes, *resumes)
