"""Dynamic task mapping: ``Operator.partial(...).expand(...)`` and ``@task.expand``.

A mapped operator is one node of the graph. When its inputs are known it becomes N task
instances (map indexes 0..N-1); each builds a real operator from the partial arguments and
its own slice of the expanded ones (the cross product of the expanded lists).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airlane.sdk import _stack
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.node import DAGNode
from airlane.sdk.xcom_arg import XComArg, wire_xcom_args

if TYPE_CHECKING:
    from airlane.sdk.baseoperator import BaseOperator
    from airlane.sdk.dag import DAG
    from airlane.sdk.taskgroup import TaskGroup


class _MappedPlaceholder:
    def __repr__(self) -> str:
        return "<mapped>"


MAPPED = _MappedPlaceholder()


class OperatorPartial:
    """``SomeOperator.partial(task_id=..., ...)``: waiting for ``.expand()``."""

    def __init__(
        self,
        operator_class: type[BaseOperator],
        kwargs: dict[str, Any],
        expand_into: str | None = None,
    ) -> None:
        if "task_id" not in kwargs:
            raise TypeError(
                f"{operator_class.__name__}.partial() missing required argument 'task_id'"
            )
        self.operator_class = operator_class
        self.kwargs = kwargs
        self.expand_into = expand_into

    def expand(self, **mapped_kwargs: Any) -> MappedOperator:
        if not mapped_kwargs:
            raise TypeError("no arguments to expand against")
        for name, value in mapped_kwargs.items():
            _check_expandable(name, value)
        return MappedOperator(self, mapped_kwargs, expand_kwargs_input=None)

    def expand_kwargs(self, kwargs_list: Sequence[Mapping[str, Any]] | XComArg) -> MappedOperator:
        if not isinstance(kwargs_list, XComArg | list | tuple):
            raise TypeError(
                f"expand_kwargs() takes a list of dicts or an XComArg, not {kwargs_list!r}"
            )
        return MappedOperator(self, {}, expand_kwargs_input=kwargs_list)


def _check_expandable(name: str, value: Any) -> None:
    if not isinstance(value, XComArg | list | tuple | dict):
        raise ValueError(
            f"expand() argument {name!r} must be a list, dict or XComArg, not {value!r}"
        )


class MappedOperator(DAGNode):
    """A task that runs once per element of its expanded inputs."""

    def __init__(
        self,
        partial: OperatorPartial,
        expand_input: dict[str, Any],
        expand_kwargs_input: Sequence[Mapping[str, Any]] | XComArg | None,
    ) -> None:
        self.partial_kwargs = dict(partial.kwargs)
        self.operator_class = partial.operator_class
        self.expand_input = expand_input
        self.expand_kwargs_input = expand_kwargs_input
        self.expand_into = partial.expand_into
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self._dag: DAG | None = None
        self.task_group: TaskGroup | None = None
        dag = self.partial_kwargs.pop("dag", None) or _stack.current_dag()
        group = self.partial_kwargs.pop("task_group", None) or _stack.current_group(dag)
        # Operators built detached from the DAG still get its default_args.
        self.partial_kwargs["default_args"] = {
            **(dag.default_args if dag else {}),
            **(group.default_args if group else {}),
            **(self.partial_kwargs.get("default_args") or {}),
        }
        # The prototype validates the arguments now (errors point at the DAG file's line) and
        # provides the task-level attributes (retries, trigger_rule, queue...) for the graph.
        self.prototype = self._build(self._placeholder_kwargs(), dag=dag, task_group=group)
        self.task_id = self.prototype.task_id
        self.task_group = self.prototype.task_group
        if dag is not None:
            self._attach_to_dag(dag)
        wire_xcom_args(self, self.expand_input, self.expand_kwargs_input, self.partial_kwargs)

    def __repr__(self) -> str:
        return f"<Mapped({self.operator_class.__name__}): {self.task_id}>"

    def __getattr__(self, name: str) -> Any:
        # Task attributes (retries, queue, trigger_rule, ...) come from the prototype.
        if name in {"prototype", "__setstate__", "__getstate__"}:
            raise AttributeError(name)
        return getattr(self.prototype, name)

    @property
    def dag(self) -> DAG | None:  # type: ignore[override]
        return self._dag

    @property
    def output(self) -> XComArg:
        return XComArg(self)

    def _attach_to_dag(self, dag: DAG, group: TaskGroup | None = None) -> None:
        if self._dag is dag:
            return
        dag.add_task(self)
        self._dag = dag
        self.task_group = self.task_group or dag.task_group
        self.task_group.add(self)

    def _placeholder_kwargs(self) -> dict[str, Any]:
        """Stand-ins for the expanded arguments: only required ones need one in the prototype."""
        if self.expand_into:
            return dict.fromkeys(self.expand_input, MAPPED)
        names = set(self.expand_input)
        if isinstance(self.expand_kwargs_input, list | tuple):
            for item in self.expand_kwargs_input:
                names.update(item)
        required = _required_params(self.operator_class)
        if self.expand_kwargs_input is not None and not isinstance(
            self.expand_kwargs_input, list | tuple
        ):
            names = required - set(self.partial_kwargs)
        return {name: MAPPED for name in names if name in required}

    def _build(self, mapped: dict[str, Any], *, dag: DAG | None, task_group: Any) -> BaseOperator:
        kwargs = dict(self.partial_kwargs)
        if self.expand_into:
            inner = dict(kwargs.get(self.expand_into) or {})
            inner.update(mapped)
            kwargs[self.expand_into] = inner
        else:
            kwargs.update(mapped)
        with _stack.detached():
            op = self.operator_class(**kwargs, task_group=task_group)
        if dag is not None:
            op._dag = dag
        return op

    def literal_lengths(self) -> dict[str, int | None]:
        """For each expanded input its length when known now, ``None`` when it is an XComArg."""
        if self.expand_kwargs_input is not None:
            value = self.expand_kwargs_input
            return {"*": None if isinstance(value, XComArg) else len(value)}
        return {
            name: None if isinstance(value, XComArg) else len(value)
            for name, value in self.expand_input.items()
        }

    def unmap(
        self, resolved: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]], index: int
    ) -> BaseOperator:
        """The real operator of map index ``index``, from the resolved expanded inputs."""
        if isinstance(resolved, Mapping):
            combos = list(itertools.product(*resolved.values()))
            if not 0 <= index < len(combos):
                raise AirflowException(f"map index {index} out of range ({len(combos)})")
            mapped = dict(zip(resolved.keys(), combos[index]))
        else:
            mapped = dict(resolved[index])
        op = self._build(mapped, dag=None, task_group=None)
        op.task_id = self.task_id
        op._dag = self._dag
        op.task_group = self.task_group
        op.upstream_task_ids = self.upstream_task_ids
        op.downstream_task_ids = self.downstream_task_ids
        op.params = self.prototype.params
        return op


def _required_params(cls: type) -> set[str]:
    """The ``__init__`` parameters without a default, keyword-only or positional: as in Airflow,
    ``partial()`` and ``expand()`` pass every argument by keyword, positional ones too."""
    from airlane.sdk.baseoperator import init_parameters

    return {p.name for p in init_parameters(cls) if p.default is p.empty}
