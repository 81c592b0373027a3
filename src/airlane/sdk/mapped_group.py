"""Mapped task groups: ``@task_group`` functions called with ``.expand()`` / ``.expand_kwargs()``.

As in Airflow, the function runs once at parse time with :class:`MappedArgument` stand-ins for
the expanded arguments; every task it creates is expanded at run time into one instance per
element of the group's input (the same map index across the group), and a stand-in resolves,
in the instance of map index ``i``, to the ``i``-th element.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airlane.sdk.exceptions import AirflowException, UnsupportedFeature
from airlane.sdk.taskgroup import TaskGroup
from airlane.sdk.xcom_arg import XComArg, iter_xcom_args

if TYPE_CHECKING:
    from airlane.sdk.node import DAGNode


class MappedTaskGroup(TaskGroup):
    """A task group whose tasks all run once per element of ``expand_input`` (a dict of lists,
    crossed as a product) or of ``expand_kwargs_input`` (a list of dicts, or an XComArg)."""

    def __init__(
        self,
        group_id: str | None,
        *,
        expand_input: dict[str, Any] | None = None,
        expand_kwargs_input: Sequence[Mapping[str, Any]] | XComArg | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(group_id, **kwargs)
        self.expand_input = expand_input
        self.expand_kwargs_input = expand_kwargs_input
        parent = self.parent_group
        while parent is not None:
            if isinstance(parent, MappedTaskGroup):
                raise UnsupportedFeature(
                    f"Mapped task group {self.group_id!r} is inside mapped task group "
                    f"{parent.group_id!r}: nested mapped task groups are not supported by Airlane"
                )
            parent = parent.parent_group

    def iter_xcom_args(self) -> Iterator[XComArg]:
        yield from iter_xcom_args(self.expand_input or {})
        yield from iter_xcom_args(self.expand_kwargs_input)

    def __exit__(self, *exc: object) -> None:
        from airlane.sdk.mapped import MappedOperator

        super().__exit__(*exc)
        for task in self.iter_tasks():
            if isinstance(task, MappedOperator):
                raise UnsupportedFeature(
                    f"Task {task.task_id!r} is mapped inside mapped task group "
                    f"{self.group_id!r}: Airlane does not support mapping inside a mapped group"
                )
        # as Airflow: the tasks giving the group's input are upstream of the group
        for arg in self.iter_xcom_args():
            self.set_upstream(arg.operator)

    def resolve_row(self, ti: Any, map_index: int) -> Mapping[str, Any]:
        """The expanded arguments of map index ``map_index``, pulling XCom inputs through ``ti``."""
        rows = self.resolve_rows(ti)
        if not 0 <= map_index < len(rows):
            raise AirflowException(f"map index {map_index} out of range ({len(rows)})")
        return rows[map_index]

    def resolve_rows(self, ti: Any) -> list[Mapping[str, Any]]:
        """Every map index's expanded arguments (Airflow's order: the last input varies fastest)."""
        if self.expand_kwargs_input is not None:
            rows = _as_list(_pull(self.expand_kwargs_input, ti))
            for row in rows:
                if not isinstance(row, Mapping):
                    raise AirflowException(f"expand_kwargs() expects a list of dicts, got {row!r}")
            return rows
        assert self.expand_input is not None
        values = {name: _as_list(_pull(v, ti)) for name, v in self.expand_input.items()}
        return [dict(zip(values, combo)) for combo in itertools.product(*values.values())]


def _pull(value: Any, ti: Any) -> Any:
    if isinstance(value, XComArg):
        return ti.pull_xcom_arg(value.operator.task_id, value.key)
    return value


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.items())
    if not isinstance(value, list | tuple):
        raise AirflowException(f"expand() input must be a list or dict, got {type(value).__name__}")
    return list(value)


class MappedArgument:
    """Stands for the expanded argument ``key`` of a mapped task group until a task runs."""

    def __init__(self, group: MappedTaskGroup, key: str) -> None:
        self.group = group
        self.key = key

    def __repr__(self) -> str:
        return f"MappedArgument({self.group.group_id!r}, {self.key!r})"

    def iter_xcom_args(self) -> Iterator[XComArg]:
        return self.group.iter_xcom_args()

    def resolve(self, ti: Any) -> Any:
        row = self.group.resolve_row(ti, ti.map_index)
        if self.key not in row:
            raise AirflowException(
                f"expand_kwargs() row {ti.map_index} of task group {self.group.group_id!r} "
                f"has no argument {self.key!r}"
            )
        return row[self.key]


def closest_mapped_group(node: DAGNode | None) -> MappedTaskGroup | None:
    """The innermost mapped task group around ``node``, if any."""
    group = getattr(node, "task_group", None)
    while group is not None:
        if isinstance(group, MappedTaskGroup):
            return group
        group = group.parent_group
    return None


def relevant_map_indexes(
    task: DAGNode | None, upstream: DAGNode, ti: Any
) -> int | list[int] | None:
    """Which of ``upstream``'s map indexes a value pulled by ``task``'s instance ``ti`` reads,
    as Airflow's execution API computes them: the same index inside a shared mapped group, every
    index of a mapped group ``task`` is not in, None (Airflow's own rules) otherwise."""
    up_group = closest_mapped_group(upstream)
    if up_group is None:
        return None
    if closest_mapped_group(task) is up_group:
        return int(ti.map_index)
    return list(range(len(up_group.resolve_rows(ti))))


#: builds a task group of the given class (with extra constructor arguments) and calls the
#: group's function inside it with the arguments returned for the group
BuildGroup = Callable[[type[TaskGroup], dict[str, Any], Callable[[TaskGroup], Any]], Any]


class GroupExpander:
    """``.partial()``, ``.expand()`` and ``.expand_kwargs()`` of a ``@task_group`` function."""

    def __init__(
        self,
        function: Callable[..., Any],
        build: BuildGroup,
        partial_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.function = function
        self.build = build
        self.partial_kwargs = dict(partial_kwargs or {})

    def _check_names(self, how: str, names: Sequence[str]) -> None:
        params = inspect.signature(self.function).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        unknown = sorted(set(names) - set(params))
        if unknown:
            raise TypeError(f"{self.function.__name__}.{how}() got unexpected arguments {unknown}")

    def partial(self, **kwargs: Any) -> GroupExpander:
        self._check_names("partial", list(kwargs))
        duplicate = sorted(set(kwargs) & set(self.partial_kwargs))
        if duplicate:
            raise TypeError(f"duplicate partial arguments: {duplicate}")
        return GroupExpander(self.function, self.build, {**self.partial_kwargs, **kwargs})

    def override(self, **group_kwargs: Any) -> GroupExpander:
        """The same partial, building its group with ``group_kwargs`` (``group_id``...)."""
        build = self.build

        def overridden(
            group_class: type[TaskGroup], extra: dict[str, Any], call: Callable[[TaskGroup], Any]
        ) -> Any:
            return build(group_class, {**group_kwargs, **extra}, call)

        return GroupExpander(self.function, overridden, self.partial_kwargs)

    def expand(self, **kwargs: Any) -> Any:
        if not kwargs:
            raise TypeError("no arguments to expand against")
        self._check_names("expand", list(kwargs))
        duplicate = sorted(set(kwargs) & set(self.partial_kwargs))
        if duplicate:
            raise TypeError(f"mapping already partial arguments: {duplicate}")
        for name, value in kwargs.items():
            if not isinstance(value, XComArg | list | tuple | dict):
                raise ValueError(
                    f"expand() argument {name!r} must be a list, dict or XComArg, not {value!r}"
                )
        return self._build({"expand_input": dict(kwargs)}, list(kwargs))

    def expand_kwargs(self, value: Sequence[Mapping[str, Any]] | XComArg) -> Any:
        if isinstance(value, list | tuple):
            if not all(isinstance(item, Mapping) for item in value):
                raise TypeError(f"expected XComArg or list[dict], not {value!r}")
        elif not isinstance(value, XComArg):
            raise TypeError(f"expected XComArg or list[dict], not {type(value).__name__}")
        params = inspect.signature(self.function).parameters.values()
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            raise TypeError(
                "calling expand_kwargs() on task group function with * or ** is not supported"
            )
        names = [p.name for p in params if p.name not in self.partial_kwargs]
        return self._build({"expand_kwargs_input": value}, names)

    def _build(self, group_kwargs: dict[str, Any], mapped_names: list[str]) -> Any:
        def call(group: TaskGroup) -> Any:
            assert isinstance(group, MappedTaskGroup)
            stand_ins = {name: MappedArgument(group, name) for name in mapped_names}
            return self.function(**self.partial_kwargs, **stand_ins)

        return self.build(MappedTaskGroup, group_kwargs, call)
