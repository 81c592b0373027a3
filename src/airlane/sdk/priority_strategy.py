"""Priority weight strategies (Airflow's ``airflow.task.priority_strategy``): ``weight_rule=``.

A task's ``weight_rule`` is one of the built-in rules (``downstream``, ``upstream``,
``absolute``) or a custom :class:`PriorityWeightStrategy`: an instance, or the import path of
its class. As in Airflow, a custom class must be registered by a plugin
(``priority_weight_strategies`` on an ``AirflowPlugin``, loaded from the plugins folder by
``dag_loader.plugins``), else the task is refused when it is made ("Unknown priority strategy").

The weight decides the order in which a run's ready instances go to workers, as the built-in
rules do: it is worked out when the DAG is serialized (``dag_loader.serialize``) by calling
the strategy's ``get_weight(ti)`` with the task instance as Airflow 3 has it when it creates it
(``TaskInstance.insert_mapping``): the task, ``map_index`` -1 and ``try_number`` 0. Airflow
calls it again only when an instance is cleared (with its try number then); Airlane keeps the
creation weight.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class WeightRule(StrEnum):
    """Airflow's built-in weight rules (``airflow.task.weight_rule``)."""

    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"

    @classmethod
    def is_valid(cls, value: str) -> bool:
        return value in cls.all_weight_rules()

    @classmethod
    def all_weight_rules(cls) -> set[str]:
        return {rule.value for rule in cls}


class PriorityWeightStrategy(ABC):
    """Subclass it, implement ``get_weight(ti)`` and register the class in a plugin."""

    @abstractmethod
    def get_weight(self, ti: Any) -> int:
        """The priority weight of the task instance ``ti``."""

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> PriorityWeightStrategy:
        return cls(**data)

    def serialize(self) -> dict[str, Any]:
        return {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.serialize().items())))


#: class path -> the strategy classes the plugins register
_REGISTERED: dict[str, type[PriorityWeightStrategy]] = {}


def class_path(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type[PriorityWeightStrategy]) -> None:
    """Called by the plugins loader for each class of a plugin's ``priority_weight_strategies``."""
    if not (isinstance(cls, type) and issubclass(cls, PriorityWeightStrategy)):
        raise TypeError(f"{cls!r} is not a PriorityWeightStrategy subclass")
    _REGISTERED[class_path(cls)] = cls


def forget_registered() -> None:
    _REGISTERED.clear()


def load_weight_rule(weight_rule: Any) -> str | PriorityWeightStrategy:
    """A built-in rule's name, or the custom strategy to use; ValueError for an unknown one
    (Airflow's ``validate_and_load_priority_weight_strategy``)."""
    if isinstance(weight_rule, str) and WeightRule.is_valid(weight_rule):
        return WeightRule(weight_rule).value
    if isinstance(weight_rule, str):
        path = weight_rule
    elif isinstance(weight_rule, PriorityWeightStrategy):
        path = class_path(type(weight_rule))
    else:
        raise ValueError(f"Unknown priority strategy {weight_rule!r}")
    cls = _REGISTERED.get(path)
    if cls is None:
        raise ValueError(f"Unknown priority strategy {path}")
    return cls()


def weight_rule_name(weight_rule: str | PriorityWeightStrategy) -> str:
    """How the serialized DAG and the API show it: the rule's name or the class path."""
    return weight_rule if isinstance(weight_rule, str) else class_path(type(weight_rule))


@dataclass(frozen=True)
class CreatedTaskInstance:
    """What ``get_weight`` sees: a task instance as it is created (see the module's doc)."""

    task: Any
    dag_id: str
    task_id: str
    run_id: str | None = None
    map_index: int = -1
    try_number: int = 0
    state: str | None = None

    @property
    def priority_weight(self) -> int:
        return int(self.task.priority_weight)


def custom_weight(strategy: PriorityWeightStrategy, task: Any, dag_id: str) -> int:
    """The strategy's weight of ``task``'s instance at creation."""
    ti = CreatedTaskInstance(task=task, dag_id=dag_id, task_id=task.task_id)
    return int(strategy.get_weight(ti))
