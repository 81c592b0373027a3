"""``AIRLANE_FAST_PATH``: whether a finish script queues a ready successor itself (1, the
default) or leaves every successor to the coordinator (0: for comparison, and as a safety
valve). See engine/fast_path.py.

The coordinator stays the authority: when it has decided otherwise in memory (a clear, a mark,
fail-fast, the run's end) but not yet written it, a successor the script queued meanwhile is
overruled (its next try is numbered after the script's), and should a worker have claimed it,
the ``started`` event makes the coordinator stop it, as it stops a try cleared while running
(service/coordinator/events.py).
"""

from __future__ import annotations

import os

#: the switch's value when the variable is not set
FAST_PATH_DEFAULT = True


def fast_path_enabled() -> bool:
    """The switch as the environment sets it (read when a worker's or coordinator's settings
    are made)."""
    raw = os.environ.get("AIRLANE_FAST_PATH", "").strip().lower()
    if not raw:
        return FAST_PATH_DEFAULT
    return raw in ("1", "true", "yes", "on")
