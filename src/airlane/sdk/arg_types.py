"""``airflow.sdk.definitions._internal.types`` (and the same names of ``airflow.utils.types``):
the sentinels of arguments that were not given, or that are set when the task runs."""

from __future__ import annotations

from typing import Any

from airlane.sdk.params import NOTSET
from airlane.sdk.params import _NotSet as ArgNotSet


class SetDuringExecution(ArgNotSet):
    """An argument whose value a decorated task sets when it runs, not at parse time."""

    def __repr__(self) -> str:
        return "DYNAMIC (set during execution)"

    @staticmethod
    def serialize() -> str:
        return "DYNAMIC (set during execution)"


SET_DURING_EXECUTION = SetDuringExecution()


def is_arg_set(value: Any) -> bool:
    """Whether ``value`` is a real argument (not NOTSET or SET_DURING_EXECUTION)."""
    return not isinstance(value, ArgNotSet)


__all__ = ["NOTSET", "SET_DURING_EXECUTION", "ArgNotSet", "SetDuringExecution", "is_arg_set"]
