"""Airflow's argument sentinels (``airflow.sdk.definitions._internal.types``; Airflow 2:
``airflow.utils.types``): ``NOTSET`` is a default that tells "not passed" from ``None``;
``SET_DURING_EXECUTION`` marks a value only known when the task runs. Providers import them
(the Slack provider's connection extras read ``get(field, default=NOTSET)``)."""

from __future__ import annotations


class ArgNotSet:
    """The type of :data:`NOTSET`."""

    @staticmethod
    def serialize() -> str:
        return "NOTSET"

    @classmethod
    def deserialize(cls) -> type[ArgNotSet]:
        return cls


NOTSET = ArgNotSet()


class SetDuringExecution(ArgNotSet):
    """The type of :data:`SET_DURING_EXECUTION`."""

    @staticmethod
    def serialize() -> str:
        return "DYNAMIC (set during execution)"


SET_DURING_EXECUTION = SetDuringExecution()

__all__ = ["NOTSET", "SET_DURING_EXECUTION", "ArgNotSet", "SetDuringExecution"]
