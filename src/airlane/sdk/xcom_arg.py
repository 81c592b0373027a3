"""XComArg: a reference to another task's XCom, resolved when the consuming task runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from airlane.sdk.node import relate, resolve_nodes

if TYPE_CHECKING:
    from airlane.sdk.node import DAGNode

RETURN_VALUE_KEY = "return_value"
_MISSING: Any = object()


class XComArg:
    """The XCom ``key`` pushed by ``operator``; ``task.output`` and TaskFlow calls return one."""

    def __init__(self, operator: DAGNode, key: str = RETURN_VALUE_KEY) -> None:
        self.operator = operator
        self.key = key

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """The value, pulled by the running task (``context["ti"]``), as Airflow's
        ``PlainXComArg.resolve``: a mapped task's values as a list, the same map index inside a
        shared mapped task group; None for a missing return value (or key of a task with
        ``multiple_outputs``); XComNotFound for any other missing key."""
        from airlane.sdk.exceptions import XComNotFound
        from airlane.sdk.mapped_group import relevant_map_indexes

        ti = context["ti"]
        task_id = self.operator.task_id
        indexes = relevant_map_indexes(context.get("task"), self.operator, ti)
        where = {} if indexes is None else {"map_indexes": indexes}
        value = ti.xcom_pull(task_ids=task_id, key=self.key, default=_MISSING, **where)
        if value is not _MISSING:
            return value
        if self.key == RETURN_VALUE_KEY or getattr(self.operator, "multiple_outputs", False):
            return None
        raise XComNotFound(ti.dag_id, task_id, self.key)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            "'XComArg' object is not iterable; its value exists only when the task runs"
        )

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, {self.key!r})"

    def __str__(self) -> str:
        """The Jinja expression that pulls this XCom, as Airflow makes it: an XComArg put in
        a templated string (``f"echo {xcom_arg}"``) renders as its value."""
        pull = [f"task_ids='{self.operator.task_id}'"]
        dag = getattr(self.operator, "dag", None)
        if dag is not None:
            pull.append(f"dag_id='{dag.dag_id}'")
        pull.append(f"key='{self.key}'")
        return "{{ task_instance.xcom_pull(" + ", ".join(pull) + ") }}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, XComArg) and other.operator is self.operator and other.key == self.key
        )

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))

    def __rshift__(self, other: Any) -> Any:
        relate([self.operator], other, upstream=False)
        return other

    def __lshift__(self, other: Any) -> Any:
        relate([self.operator], other, upstream=True)
        return other

    def __rrshift__(self, other: Any) -> XComArg:
        relate([self.operator], other, upstream=True)
        return self

    def __rlshift__(self, other: Any) -> XComArg:
        relate([self.operator], other, upstream=False)
        return self

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        relate([self.operator], other, upstream=False)

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        relate([self.operator], other, upstream=True)

    @property
    def roots(self) -> list[DAGNode]:
        return [self.operator]

    @property
    def leaves(self) -> list[DAGNode]:
        return [self.operator]

    @property
    def is_setup(self) -> bool:
        return self.operator.is_setup

    @is_setup.setter
    def is_setup(self, value: bool) -> None:
        self.operator.is_setup = value

    @property
    def is_teardown(self) -> bool:
        return self.operator.is_teardown

    @is_teardown.setter
    def is_teardown(self, value: bool) -> None:
        self.operator.is_teardown = value

    @property
    def on_failure_fail_dagrun(self) -> bool:
        return self.operator.on_failure_fail_dagrun

    @on_failure_fail_dagrun.setter
    def on_failure_fail_dagrun(self, value: bool) -> None:
        self.operator.on_failure_fail_dagrun = value

    def as_setup(self) -> XComArg:
        self.operator.as_setup()
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> XComArg:
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self) -> Any:
        from airlane.sdk import setup_teardown

        setup_teardown.enter([self.operator])
        return setup_teardown

    def __exit__(self, *exc: object) -> None:
        from airlane.sdk import setup_teardown

        setup_teardown.leave()


def iter_xcom_args(value: Any) -> Iterator[XComArg]:
    """Every XComArg inside ``value``, looking into lists, tuples, sets and dict values."""
    if isinstance(value, XComArg):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from iter_xcom_args(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_xcom_args(item)
    elif hasattr(type(value), "iter_xcom_args"):  # a mapped task group's MappedArgument
        yield from value.iter_xcom_args()


def wire_xcom_args(node: DAGNode, *values: Any) -> None:
    """Make every task referenced by an XComArg in ``values`` upstream of ``node``."""
    for value in values:
        for arg in iter_xcom_args(value):
            if arg.operator is not node:
                relate([node], resolve_nodes(arg.operator, as_upstream=True), upstream=True)
