"""``airflow.sdk.bases.decorator`` (Airflow 2: ``airflow.decorators.base``): what provider
packages build their ``@task.<name>`` decorators from.

A provider's decorator (common-sql's ``@task.sql``) subclasses ``DecoratedOperator`` together
with its operator and returns ``task_decorator_factory(python_callable, decorated_operator_class=
...)``; the provider lists it under ``task-decorators`` in its provider info, where ``@task``'s
attribute lookup finds it (``decorators._TaskNamespace.__getattr__``). Calling the decorated
function in a DAG adds the operator, as ``@task`` does (Airlane's ``TaskDecorator``: ``.override``,
``.partial``, ``.expand``, setup and teardown).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

from airlane.sdk import _stack
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.dag import DAG
from airlane.sdk.decorators import TaskDecorator, _unique_task_id
from airlane.sdk.operator_helpers import KeywordParameters, determine_kwargs
from airlane.sdk.taskgroup import TaskGroup


class DecoratedOperator(BaseOperator):
    """An operator made from a decorated function: it keeps the function and the arguments the
    DAG called it with (``op_args``, ``op_kwargs``: templated)."""

    template_fields: ClassVar[tuple[str, ...]] = ("op_args", "op_kwargs")
    template_fields_renderers: ClassVar[dict[str, str]] = {"op_args": "py", "op_kwargs": "py"}
    custom_operator_name: ClassVar[str | None] = "@task"
    #: ``multiple_outputs`` left unset is inferred from the function's return annotation
    infers_multiple_outputs: ClassVar[bool] = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        task_id: str,
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        kwargs_to_upstream: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not callable(python_callable):
            raise TypeError("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        super().__init__(task_id=task_id, **(kwargs_to_upstream or {}), **kwargs)


def get_unique_task_id(
    task_id: str, dag: DAG | None = None, task_group: TaskGroup | None = None
) -> str:
    """``task_id``, or ``task_id__N`` when the DAG has that id already."""
    dag = dag or _stack.current_dag()
    group = task_group or _stack.current_group(dag)
    return _unique_task_id(task_id, dag, group)


def is_async_callable(func: Any) -> bool:
    """Whether calling ``func`` returns a coroutine."""
    return inspect.iscoroutinefunction(func)


def task_decorator_factory(
    python_callable: Callable[..., Any] | None = None,
    *,
    multiple_outputs: bool | None = None,
    decorated_operator_class: type[BaseOperator],
    **kwargs: Any,
) -> Any:
    """The decorator (or, with ``python_callable``, the decorated function) that turns a function
    into ``decorated_operator_class`` tasks; ``kwargs`` are the operator's arguments."""
    if multiple_outputs is not None:
        kwargs["multiple_outputs"] = multiple_outputs
    if python_callable is not None:
        return TaskDecorator(python_callable, decorated_operator_class, kwargs)
    return lambda function: TaskDecorator(function, decorated_operator_class, kwargs)


def provider_task_decorator(collection: object, name: str) -> Any:
    """The decorator ``@task.<name>`` that an installed provider lists under ``task-decorators``
    in its provider info, as Airflow's ``TaskDecoratorCollection`` finds it."""
    if name.startswith("__"):
        raise AttributeError(f"{type(collection).__name__} has no attribute {name!r}")
    from airlane.sdk.providers_manager import ProvidersManager

    decorators = ProvidersManager().taskflow_decorators
    if name not in decorators:
        raise AttributeError(f"task decorator {name!r} not found")
    return decorators[name]


__all__ = [
    "DecoratedOperator",
    "KeywordParameters",
    "TaskDecorator",
    "determine_kwargs",
    "get_unique_task_id",
    "is_async_callable",
    "task_decorator_factory",
]
