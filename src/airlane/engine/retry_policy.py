"""Retry decisions (pure): whether a failed try is retried, and when, as Airflow computes it."""

from __future__ import annotations

import hashlib
import math

#: Airflow's cap on any retry delay (one day).
MAX_RETRY_DELAY_S = 24 * 60 * 60.0


def is_eligible_to_retry(retries: int, try_number: int, max_tries: int, retryable: bool) -> bool:
    """A failed try ``try_number`` (1-based) is retried while it is within ``max_tries``."""
    return retryable and retries > 0 and try_number <= max_tries


def backoff_multiplier(raw: object) -> float:
    """A task's ``retry_exponential_backoff`` as the multiplier Airflow 3.3 reads it: True is
    2 (Airflow's doubling before 3.3), False 0 (none), a number itself."""
    if isinstance(raw, bool):
        return 2.0 if raw else 0.0
    if isinstance(raw, int | float):
        return float(raw)
    return 0.0


def retry_delay_s(
    *,
    retry_delay_s: float,
    exponential_backoff: float,
    max_retry_delay_s: float | None,
    try_number: int,
    ti_identity: str,
) -> float:
    """Seconds from the failure of try ``try_number`` to the next try.

    ``exponential_backoff`` is the multiplier (Airflow 3.3: 0 and 1 mean none): the delay is
    ``retry_delay * multiplier**(try_number - 1)`` plus a deterministic jitter of up to as much
    again (a hash of the task instance and try), capped by ``max_retry_delay`` and one day.
    """
    multiplier = exponential_backoff or 1.0
    if multiplier == 1.0 or multiplier <= 0:
        return retry_delay_s
    try:
        min_backoff = max(math.ceil(retry_delay_s * (multiplier ** (try_number - 1))), 1)
    except OverflowError:
        min_backoff = int(MAX_RETRY_DELAY_S)
    digest = hashlib.sha1(f"{ti_identity}#{try_number}".encode()).hexdigest()
    delay = float(min_backoff + int(digest, 16) % min_backoff)
    cap = (
        MAX_RETRY_DELAY_S
        if max_retry_delay_s is None
        else min(max_retry_delay_s, MAX_RETRY_DELAY_S)
    )
    return min(delay, cap)
