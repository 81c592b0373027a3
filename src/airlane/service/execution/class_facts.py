"""What the task runner asks of an operator's class on every try, worked out once per class,
and the per-try shortcuts that give what the long ways give (a copy, a start date)."""

from __future__ import annotations

import copy
import functools
from datetime import UTC, datetime

import pendulum

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.node import DAGNode


def shallow_copy(node: DAGNode) -> DAGNode:
    """``copy.copy(node)``: done as it would do it for a class that changes nothing of it."""
    cls: type = type(node)
    if not _plainly_copied(cls):
        return copy.copy(node)
    new: DAGNode = object.__new__(cls)
    new.__dict__.update(node.__dict__)
    return new


@functools.lru_cache(maxsize=1024)
def _plainly_copied(cls: type) -> bool:
    """Whether ``copy.copy`` makes an instance of ``cls`` as a new one with the same __dict__
    (object's reduction, no __slots__, nothing of the copy protocol overridden)."""
    protocol = ("__copy__", "__getattr__", "__setstate__", "__getnewargs__", "__getnewargs_ex__")
    return (
        not any(hasattr(cls, name) for name in protocol)
        and all(
            getattr(cls, name) is getattr(object, name)
            for name in ("__reduce_ex__", "__reduce__", "__getstate__", "__new__")
        )
        and not any("__slots__" in klass.__dict__ for klass in cls.__mro__)
    )


def _defining_index(cls: type, name: str) -> int | None:
    for index, klass in enumerate(cls.__mro__):
        if name in klass.__dict__:
            return index
    return None


@functools.lru_cache(maxsize=1024)
def class_uses_aexecute(cls: type) -> bool:
    """True when the class's ``aexecute`` is at least as specific as its ``execute``."""
    a_index = _defining_index(cls, "aexecute")
    e_index = _defining_index(cls, "execute")
    return a_index is not None and (e_index is None or a_index <= e_index)


@functools.lru_cache(maxsize=1024)
def overrides_base(cls: type, name: str) -> bool:
    """Whether ``cls`` has its own ``name`` (``pre_execute``...), not BaseOperator's."""
    return getattr(cls, name) is not getattr(BaseOperator, name)


def utc_from_timestamp(when_s: float) -> pendulum.DateTime:
    """``pendulum.from_timestamp(when_s)`` (UTC), built in a fifth of its time."""
    when = datetime.fromtimestamp(when_s, UTC)
    return pendulum.DateTime(
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second,
        when.microsecond,
        tzinfo=pendulum.UTC,
        fold=1,  # as pendulum.from_timestamp makes it
    )
