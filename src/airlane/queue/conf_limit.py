"""The cap on a run's conf (``AIRLANE_MAX_CONF_BYTES``), checked wherever a run is created.

A conf is stored once per run, but it is still read by every worker that runs one of its tasks
and returned by every API read of the run: one without bounds can fill Redis and the API's
memory. The default (1 MiB) is the API's default body limit, so an API client hits the body
limit first unless the cap is lowered; Python callers (TriggerDagRunOperator, backfills, the
CLI) hit this one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_MAX_CONF_BYTES = 1024 * 1024


class ConfTooLarge(ValueError):
    """A run's conf is larger, as JSON, than the configured limit."""

    def __init__(self, size_bytes: int, max_bytes: int) -> None:
        super().__init__(
            f"conf is {size_bytes} bytes as JSON; the limit is {max_bytes} bytes "
            "(AIRLANE_MAX_CONF_BYTES)"
        )
        self.size_bytes = size_bytes
        self.max_bytes = max_bytes


def max_conf_bytes_from_env(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    return int(env.get("AIRLANE_MAX_CONF_BYTES", DEFAULT_MAX_CONF_BYTES))


def check_conf_size(encoded: str, max_bytes: int) -> None:
    """Raise ConfTooLarge when the JSON-encoded conf ``encoded`` is over ``max_bytes``."""
    size_bytes = len(encoded.encode())
    if size_bytes > max_bytes:
        raise ConfTooLarge(size_bytes, max_bytes)
