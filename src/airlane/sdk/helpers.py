"""The parts of ``airflow.utils.helpers`` that provider packages import (the DAG wiring helpers
of that module, ``chain`` and friends, are in ``sdk.node``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airlane.sdk.params import NOTSET


def merge_dicts(dict1: dict[Any, Any], dict2: dict[Any, Any]) -> dict[Any, Any]:
    """A new dict: ``dict2`` over ``dict1``, nested dicts merged the same way (lists replaced)."""
    merged = dict1.copy()
    for key, value in dict2.items():
        if key in merged and isinstance(value, dict):
            merged[key] = merge_dicts(merged.get(key, {}), value)
        else:
            merged[key] = value
    return merged


def is_container(obj: Any) -> bool:
    """Whether ``obj`` is iterable and not a string."""
    return isinstance(obj, Iterable) and not isinstance(obj, str)


def _refuse_iterable(args: tuple[Any, ...]) -> None:
    if args and is_container(args[0]):
        raise ValueError(
            "Not supported for iterable args. Use `*` to unpack your iterable in the function call."
        )


def exactly_one(*args: Any) -> bool:
    """Whether exactly one of ``args`` is truthy."""
    _refuse_iterable(args)
    return sum(map(bool, args)) == 1


def at_most_one(*args: Any) -> bool:
    """Whether at most one of ``args`` is truthy (NOTSET counts as unset)."""
    _refuse_iterable(args)
    return sum(1 for arg in args if arg is not NOTSET and bool(arg)) in (0, 1)


__all__ = ["at_most_one", "exactly_one", "is_container", "merge_dicts"]
