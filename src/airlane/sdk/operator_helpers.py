"""``airflow.utils.operator_helpers``: which keyword arguments a callable accepts."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from airlane.sdk.operators.python import determine_kwargs

R = TypeVar("R")


class KeywordParameters:
    """The keyword arguments a callable accepts out of a mapping (Airflow's wrapper)."""

    def __init__(self, kwargs: Mapping[str, Any]) -> None:
        self._kwargs = kwargs

    @classmethod
    def determine(
        cls, func: Callable[..., Any], args: Collection[Any], kwargs: Mapping[str, Any]
    ) -> KeywordParameters:
        return cls(determine_kwargs(func, args, kwargs))

    def unpacking(self) -> Mapping[str, Any]:
        return self._kwargs

    def serializing(self) -> Mapping[str, Any]:
        return self._kwargs


def make_kwargs_callable(func: Callable[..., R]) -> Callable[..., R]:
    """``func`` called with only the keyword arguments it accepts."""

    @functools.wraps(func)
    def kwargs_func(*args: Any, **kwargs: Any) -> R:
        return func(*args, **determine_kwargs(func, args, kwargs))

    return kwargs_func


__all__ = ["KeywordParameters", "determine_kwargs", "make_kwargs_callable"]
