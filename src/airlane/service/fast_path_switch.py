"""``AIRLANE_FAST_PATH``: whether a finish script queues a ready successor itself (1) or leaves
every successor to the coordinator (0, the default). See engine/fast_path.py.

Off by default for now: when the coordinator has decided otherwise in memory (a clear, a mark,
fail-fast) but not yet written it, a successor the script queued can still be claimed and run
once, untracked, before the coordinator's record overwrites the script's (its next try is then
numbered after it). Turn it on for the hop and the many-DAG lag (docs/benchmarks.md)."""

from __future__ import annotations

import os

#: the switch's value when the variable is not set
FAST_PATH_DEFAULT = False


def fast_path_enabled() -> bool:
    """The switch as the environment sets it (read when a worker's or coordinator's settings
    are made)."""
    raw = os.environ.get("AIRLANE_FAST_PATH", "").strip().lower()
    if not raw:
        return FAST_PATH_DEFAULT
    return raw in ("1", "true", "yes", "on")
