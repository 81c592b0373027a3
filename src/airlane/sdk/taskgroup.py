"""Task groups: a folder of tasks in the UI, with prefixed task ids and group-level edges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airlane.sdk import _stack
from airlane.sdk.exceptions import AirflowException, DuplicateTaskIdFound
from airlane.sdk.node import DAGNode, relate

if TYPE_CHECKING:
    from airlane.sdk.dag import DAG


class TaskGroup:
    """``with TaskGroup("extract") as tg:``; tasks inside get ids ``extract.<task_id>``."""

    def __init__(
        self,
        group_id: str | None,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
        group_display_name: str | None = None,
    ) -> None:
        self._group_id = group_id
        self.prefix_group_id = prefix_group_id
        self.tooltip = tooltip
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.children: dict[str, TaskGroup | DAGNode] = {}
        if group_id is None:  # the root group of a DAG
            assert dag is not None
            self.dag: DAG | None = dag
            self.parent_group: TaskGroup | None = None
            self.default_args: dict[str, Any] = {}
            return
        dag = dag or (parent_group.dag if parent_group else None) or _stack.current_dag()
        if dag is None:
            raise AirflowException(f"TaskGroup {group_id!r} must be created inside a DAG")
        parent = parent_group or _stack.current_group(dag) or dag.task_group
        self.dag = dag
        self.parent_group = parent
        self.default_args = {**parent.default_args, **(default_args or {})}
        if add_suffix_on_collision:
            self._group_id = _unique_group_id(parent, group_id)
        parent.add(self)
        self.group_display_name = group_display_name or group_id

    @classmethod
    def create_root(cls, dag: DAG) -> TaskGroup:
        return cls(None, dag=dag)

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"

    @property
    def is_root(self) -> bool:
        return self._group_id is None

    @property
    def group_id(self) -> str | None:
        parent = self.parent_group
        if self._group_id and parent and parent.prefix_group_id and parent._group_id:
            return parent.child_id(self._group_id)
        return self._group_id

    @property
    def label(self) -> str | None:
        return self._group_id

    def child_id(self, label: str) -> str:
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def add(self, child: TaskGroup | DAGNode) -> None:
        key = child.group_id if isinstance(child, TaskGroup) else child.task_id
        assert key is not None
        if key in self.children:
            raise DuplicateTaskIdFound(f"{key!r} has already been added to the DAG")
        if isinstance(child, TaskGroup) and self.dag and key in self.dag.task_dict:
            raise DuplicateTaskIdFound(f"{key!r} has already been added to the DAG as a task")
        self.children[key] = child

    def __enter__(self) -> TaskGroup:
        _stack.push_group(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _stack.pop_group()

    def iter_tasks(self) -> Iterator[DAGNode]:
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child.iter_tasks()
            else:
                yield child

    def iter_groups(self) -> Iterator[TaskGroup]:
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield child
                yield from child.iter_groups()

    def get_roots(self) -> list[DAGNode]:
        ids = {t.task_id for t in self.iter_tasks()}
        return [t for t in self.iter_tasks() if not (t.upstream_task_ids & ids)]

    def get_leaves(self) -> list[DAGNode]:
        ids = {t.task_id for t in self.iter_tasks()}
        return [t for t in self.iter_tasks() if not (t.downstream_task_ids & ids)]

    @property
    def roots(self) -> list[DAGNode]:
        return self.get_roots()

    @property
    def leaves(self) -> list[DAGNode]:
        return self.get_leaves()

    def __rshift__(self, other: Any) -> Any:
        relate(self.get_leaves(), other, upstream=False)
        return other

    def __lshift__(self, other: Any) -> Any:
        relate(self.get_roots(), other, upstream=True)
        return other

    def __rrshift__(self, other: Any) -> TaskGroup:
        relate(self.get_roots(), other, upstream=True)
        return self

    def __rlshift__(self, other: Any) -> TaskGroup:
        relate(self.get_leaves(), other, upstream=False)
        return self

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        relate(self.get_leaves(), other, upstream=False)

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        relate(self.get_roots(), other, upstream=True)


def _unique_group_id(parent: TaskGroup, group_id: str) -> str:
    taken = set(parent.children)
    candidate, n = group_id, 0
    while parent.child_id(candidate) in taken:
        n += 1
        candidate = f"{group_id}__{n}"
    return candidate
