"""``airflow.utils.strings``: Airflow's string helpers that providers import."""

from __future__ import annotations

import random
import string

#: the strings ``to_boolean`` takes for true (Airflow's set)
TRUE_LIKE_VALUES = frozenset({"on", "t", "true", "y", "yes", "1"})


def to_boolean(astring: str | None) -> bool:
    """``"Yes"``, ``"on"``, ``"1"``... -> True; anything else (None too) -> False."""
    if astring is None:
        return False
    return astring.strip().lower() in TRUE_LIKE_VALUES


def get_random_string(length: int = 8, choices: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(choices, k=length))


__all__ = ["TRUE_LIKE_VALUES", "get_random_string", "to_boolean"]
