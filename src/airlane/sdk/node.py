"""Wiring between tasks: ``>>``, ``<<``, ``set_upstream``/``set_downstream``, ``chain``."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airlane.sdk.exceptions import AirflowDagInconsistent
from airlane.sdk.trigger_rule import TriggerRule

if TYPE_CHECKING:
    from airlane.sdk.dag import DAG
    from airlane.sdk.taskgroup import TaskGroup


class DAGNode:
    """Anything with a task id that takes part in the graph: an operator or a mapped operator."""

    task_id: str
    dag: DAG | None
    task_group: TaskGroup | None
    upstream_task_ids: set[str]
    downstream_task_ids: set[str]
    trigger_rule: TriggerRule

    _is_setup: bool = False
    _is_teardown: bool = False
    _on_failure_fail_dagrun: bool = False
    #: Airflow 3.3's DAG result: the task's return value is its run's result (``@result``,
    #: ``DAG.add_result``)
    returns_dag_result: bool = False

    @property
    def is_setup(self) -> bool:
        return self._is_setup

    @is_setup.setter
    def is_setup(self, value: bool) -> None:
        if value and self._is_teardown:
            raise ValueError(
                f"Cannot mark task '{self.task_id}' as setup; task is already a teardown."
            )
        self._is_setup = bool(value)

    @property
    def is_teardown(self) -> bool:
        return self._is_teardown

    @is_teardown.setter
    def is_teardown(self, value: bool) -> None:
        if value and self._is_setup:
            raise ValueError(
                f"Cannot mark task '{self.task_id}' as teardown; task is already a setup."
            )
        self._is_teardown = bool(value)

    @property
    def on_failure_fail_dagrun(self) -> bool:
        """A teardown whose failure fails the run (by default a teardown's does not)."""
        return self._on_failure_fail_dagrun

    @on_failure_fail_dagrun.setter
    def on_failure_fail_dagrun(self, value: bool) -> None:
        if value is True and not self._is_teardown:
            raise ValueError(
                f"Cannot set task on_failure_fail_dagrun for '{self.task_id}' "
                "because it is not a teardown task."
            )
        self._on_failure_fail_dagrun = value

    def as_setup(self) -> DAGNode:
        self.is_setup = True
        return self

    def as_teardown(
        self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> DAGNode:
        """Mark this task a teardown (trigger rule all_done_setup_success) of ``setups``."""
        self.is_teardown = True
        self.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = on_failure_fail_dagrun
        if setups is not None:
            for setup in setups if isinstance(setups, list | tuple | set) else [setups]:
                setup.is_setup = True
                setup >> self
        return self

    def __enter__(self) -> Any:
        from airlane.sdk import setup_teardown

        if not self.is_setup and not self.is_teardown:
            raise RuntimeError("Only setup/teardown tasks can be used as context managers.")
        setup_teardown.enter([self])
        return setup_teardown

    def __exit__(self, *exc: object) -> None:
        from airlane.sdk import setup_teardown

        setup_teardown.leave()

    # ``self >> other`` returns ``other`` so that chains read left to right.
    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return self

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        relate([self], other, upstream=False)

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        relate([self], other, upstream=True)

    @property
    def roots(self) -> list[DAGNode]:
        return [self]

    @property
    def leaves(self) -> list[DAGNode]:
        return [self]

    @property
    def upstream_list(self) -> list[DAGNode]:
        assert self.dag is not None
        return [self.dag.task_dict[t] for t in sorted(self.upstream_task_ids)]

    @property
    def downstream_list(self) -> list[DAGNode]:
        assert self.dag is not None
        return [self.dag.task_dict[t] for t in sorted(self.downstream_task_ids)]

    def _attach_to_dag(self, dag: DAG) -> None:
        raise NotImplementedError


def resolve_nodes(obj: Any, *, as_upstream: bool) -> list[DAGNode]:
    """The tasks that ``obj`` stands for on one side of an edge.

    A task group stands for its leaves on the upstream side and its roots on the downstream
    side; an XComArg for its operator; a list for all of its items.
    """
    from airlane.sdk.taskgroup import TaskGroup
    from airlane.sdk.xcom_arg import XComArg

    if isinstance(obj, DAGNode):
        return [obj]
    if isinstance(obj, XComArg):
        return [obj.operator]
    if isinstance(obj, TaskGroup):
        return list(obj.get_leaves() if as_upstream else obj.get_roots())
    if isinstance(obj, Iterable) and not isinstance(obj, str | bytes | dict):
        nodes: list[DAGNode] = []
        for item in obj:
            nodes.extend(resolve_nodes(item, as_upstream=as_upstream))
        return nodes
    raise TypeError(
        f"Relationships can only be set between operators; received {type(obj).__name__}"
    )


def relate(nodes: Sequence[DAGNode], other: Any, *, upstream: bool) -> None:
    """Make each of ``other``'s tasks upstream (or downstream) of each of ``nodes``."""
    from airlane.sdk.edges import EdgeModifier

    label = None
    if isinstance(other, EdgeModifier):
        if upstream:
            other.downstream_nodes.extend(nodes)
            return
        other.upstream_nodes.extend(nodes)
        return
    for target in resolve_nodes(other, as_upstream=upstream):
        for node in nodes:
            if upstream:
                add_edge(target, node, label)
            else:
                add_edge(node, target, label)


def add_edge(up: DAGNode, down: DAGNode, label: str | None = None) -> None:
    """Record ``up >> down``, putting a task without a DAG into its partner's DAG."""
    dag = _common_dag(up, down)
    if dag is not None:
        for node in (up, down):
            if node.dag is None:
                node._attach_to_dag(dag)
    up.downstream_task_ids.add(down.task_id)
    down.upstream_task_ids.add(up.task_id)
    if label is not None and dag is not None:
        dag.edge_info.setdefault(up.task_id, {})[down.task_id] = {"label": label}


def _common_dag(up: DAGNode, down: DAGNode) -> DAG | None:
    if up.dag is not None and down.dag is not None and up.dag is not down.dag:
        raise AirflowDagInconsistent(
            f"Tried to set relationships between tasks in more than one DAG: "
            f"{up.dag.dag_id}.{up.task_id} and {down.dag.dag_id}.{down.task_id}"
        )
    return up.dag or down.dag


def chain(*elements: Any) -> None:
    """Wire ``elements`` in sequence; two adjacent lists must have the same length (pairwise)."""
    for left, right in itertools.pairwise(elements):
        left_is_list = isinstance(left, list | tuple)
        right_is_list = isinstance(right, list | tuple)
        if left_is_list and right_is_list:
            if len(left) != len(right):
                raise ValueError(
                    f"Chain not supported for different length Iterable. "
                    f"Got {len(left)} and {len(right)}."
                )
            for up, down in zip(left, right):
                up >> down
        else:
            # `>>` is defined by tasks, XComArgs, task groups and edge labels alike.
            for up in left if left_is_list else [left]:
                up >> right


def cross_downstream(from_tasks: Sequence[Any], to_tasks: Any) -> None:
    """Make every task of ``from_tasks`` upstream of every task of ``to_tasks``."""
    for task in from_tasks:
        relate(resolve_nodes(task, as_upstream=True), to_tasks, upstream=False)


def chain_linear(*elements: Any) -> None:
    """Wire each element to the next, every task of one to every task of the next."""
    for left, right in itertools.pairwise(elements):
        relate(resolve_nodes(left, as_upstream=True), right, upstream=False)
