"""``AIRLANE_FAST_PATH``: whether a finish script queues a ready successor itself (1, the
default) or leaves every successor to the coordinator (0). See engine/fast_path.py."""

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
