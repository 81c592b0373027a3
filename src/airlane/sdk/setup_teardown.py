"""Setup and teardown tasks used as context managers, with Airflow's wiring.

``with setup_task >> teardown_task:`` enters the teardown (``>>`` returns it); ``with
teardown.as_teardown(setups=...)`` and ``with setup_task:`` enter one task. The work tasks
created inside the block become downstream of the setups and upstream of the teardowns:

- entering a setup: its roots follow the setup, its leaves precede the teardowns found
  downstream of the setup (or the enclosing block's teardown);
- entering a teardown: its leaves precede the teardown, its roots follow the setups found
  upstream of the teardown (or the enclosing block's setup);
- leaving a nested block chains the outer setup before the inner one and the inner teardown
  before the outer one.

As in Airflow, the state is process-wide (a DAG file is plain Python run top to bottom), tasks
are recorded only while a block is open (leaving any block closes recording until the next one
is entered), and a task marked setup or teardown is never work of a block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airlane.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airlane.sdk.decorators import TaskDecorator
    from airlane.sdk.node import DAGNode

Nodes = list["DAGNode"]


@dataclass
class _Blocks:
    """The open blocks: the current setups and teardowns and the ones they shadow."""

    active: bool = False
    #: work tasks created inside a block, by the ids of the block's setup/teardown tasks
    work: dict[tuple[int, ...], Nodes] = field(default_factory=dict)
    setups: Nodes = field(default_factory=list)
    outer_setups: list[Nodes] = field(default_factory=list)
    teardowns: Nodes = field(default_factory=list)
    outer_teardowns: list[Nodes] = field(default_factory=list)
    #: teardowns found downstream of the entered setups / setups upstream of the teardowns
    found_teardowns: Nodes = field(default_factory=list)
    outer_found_teardowns: list[Nodes] = field(default_factory=list)
    found_setups: Nodes = field(default_factory=list)
    outer_found_setups: list[Nodes] = field(default_factory=list)


_blocks = _Blocks()


def _key(nodes: Nodes) -> tuple[int, ...]:
    return tuple(id(node) for node in nodes)


def enter(nodes: Nodes) -> None:
    """A ``with`` block opens on ``nodes`` (all setups or all teardowns)."""
    for node in nodes:
        if not node.is_setup and not node.is_teardown:
            raise AirflowException("Only setup/teardown tasks can be used as context managers.")
    b = _blocks
    if any(node.is_setup != nodes[0].is_setup for node in nodes):
        _forget_blocks()  # as Airflow does
        raise ValueError("All tasks in the list must be either setup or teardown tasks")
    if nodes[0].is_teardown:
        _push(b.teardowns, b.outer_teardowns, nodes)
        b.teardowns = nodes
        found = _nearest(nodes[0], nodes[0].upstream_list, want_setup=True)
        _push(b.found_setups, b.outer_found_setups, found)
        b.found_setups = found
    else:
        _push(b.setups, b.outer_setups, nodes)
        b.setups = nodes
        found = _nearest(nodes[0], nodes[0].downstream_list, want_setup=False)
        _push(b.found_teardowns, b.outer_found_teardowns, found)
        b.found_teardowns = found
    b.active = True


def _forget_blocks() -> None:
    fresh = _Blocks()
    for name, value in vars(fresh).items():
        setattr(_blocks, name, value)


def _push(current: Nodes, stack: list[Nodes], new: Nodes) -> None:
    if current and current != new:
        stack.append(current)


def _nearest(start: DAGNode, tasks: Nodes, *, want_setup: bool) -> Nodes:
    """The setups (teardowns) among ``tasks``, else among their neighbours, widening."""
    seen: set[int] = set()
    while tasks:
        found = [t for t in tasks if (t.is_setup if want_setup else t.is_teardown)]
        if found:
            return found
        seen.update(id(t) for t in tasks)
        tasks = [
            other
            for t in tasks
            for other in [*t.downstream_list, *t.upstream_list]
            if other is not start and id(other) not in seen
        ]
    return []


def note_task(task: DAGNode) -> None:
    """A task was created: it is work of the open blocks (unless it is a setup or teardown)."""
    b = _blocks
    if not b.active or task.is_setup or task.is_teardown:
        return
    for nodes in (b.setups, b.teardowns):
        if nodes:
            b.work.setdefault(_key(nodes), []).append(task)


def _work_of(nodes: Nodes) -> Nodes:
    return [t for t in _blocks.work.get(_key(nodes), []) if not t.is_setup and not t.is_teardown]


def leave() -> None:
    """The innermost ``with`` block closes: wire its work, then restore the enclosing block."""
    b = _blocks
    if b.setups and (tasks := _work_of(b.setups)):
        roots = [t for t in tasks if not t.upstream_task_ids] or tasks[:1]
        _wire(b.setups, roots)
        leaves = [t for t in tasks if not t.downstream_task_ids] or tasks[-1:]
        _wire(b.teardowns or leaves, b.found_teardowns)
    if b.teardowns and (tasks := _work_of(b.teardowns)):
        leaves = [t for t in tasks if not t.downstream_task_ids] or tasks[-1:]
        _wire(leaves, b.teardowns)
        roots = [t for t in tasks if not t.upstream_task_ids] or tasks[:1]
        _wire(b.found_setups, b.setups or roots)
    _restore(b)
    b.active = False


def _wire(ups: Nodes, downs: Nodes) -> None:
    for up in ups:
        for down in downs:
            up.set_downstream(down)


def _restore(b: _Blocks) -> None:
    """Back to the enclosing block: its setups run before ours, our teardowns before its."""
    old_setups, old_teardowns = b.setups, b.teardowns
    b.setups = b.outer_setups.pop() if b.outer_setups else []
    _wire(b.setups if old_setups else [], old_setups)
    b.teardowns = b.outer_teardowns.pop() if b.outer_teardowns else []
    _wire(old_teardowns if b.teardowns else [], b.teardowns)
    old_found = b.found_teardowns
    b.found_teardowns = b.outer_found_teardowns.pop() if b.outer_found_teardowns else []
    _wire(old_found if b.found_teardowns else [], b.found_teardowns)
    old_found = b.found_setups
    b.found_setups = b.outer_found_setups.pop() if b.outer_found_setups else []
    _wire(b.found_setups if old_found else [], old_found)
    b.work.pop(_key(old_setups), None)
    b.work.pop(_key(old_teardowns), None)


def setup(function: Any) -> Any:
    """``@setup``: the decorated function (or ``@task`` variant) makes setup tasks."""
    decorator = _as_task_decorator(function)
    decorator.is_setup = True
    return decorator


def teardown(function: Any = None, *, on_failure_fail_dagrun: bool = False) -> Any:
    """``@teardown`` / ``@teardown(on_failure_fail_dagrun=True)``: it makes teardown tasks,
    which run when their setups ran, whatever happened to the work between them."""

    def wrap(inner: Any) -> Any:
        decorator = _as_task_decorator(inner)
        decorator.is_teardown = True
        decorator.on_failure_fail_dagrun = on_failure_fail_dagrun
        return decorator

    return wrap if function is None else wrap(function)


def _as_task_decorator(function: Any) -> TaskDecorator:
    from airlane.sdk.decorators import TaskDecorator, task

    if isinstance(function, TaskDecorator):
        return function
    if hasattr(function, "expand"):  # a @task_group
        raise AirflowException("Task groups cannot be marked as setup or teardown.")
    result: TaskDecorator = task.python(function)
    return result
