"""TaskFlow: ``@dag``, ``@task`` (and ``.branch``, ``.short_circuit``, ``.bash``, ``.sensor``),
``@task_group``."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from airlane.sdk import _stack
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import UnsupportedFeature
from airlane.sdk.mapped import MappedOperator, OperatorPartial
from airlane.sdk.operators.bash import BashOperator
from airlane.sdk.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
    determine_kwargs,
)
from airlane.sdk.operators.python_virtualenv import (
    _DecoratedBranchExternalPythonOperator,
    _DecoratedBranchVirtualenvOperator,
    _DecoratedExternalPythonOperator,
    _DecoratedVirtualenvOperator,
)
from airlane.sdk.params import Param
from airlane.sdk.sensors.base import BaseSensorOperator, PokeReturnValue
from airlane.sdk.setup_teardown import setup as setup
from airlane.sdk.setup_teardown import teardown as teardown
from airlane.sdk.taskgroup import TaskGroup
from airlane.sdk.trigger_rule import TriggerRule
from airlane.sdk.xcom_arg import XComArg


class _DecoratedPythonOperator(PythonOperator):
    custom_operator_name: ClassVar[str | None] = "@task"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(multiple_outputs=multiple_outputs, **kwargs)
        self.multiple_outputs = multiple_outputs


class _DecoratedBranchOperator(BranchPythonOperator):
    custom_operator_name: ClassVar[str | None] = "@task.branch"


class _DecoratedShortCircuitOperator(ShortCircuitOperator):
    custom_operator_name: ClassVar[str | None] = "@task.short_circuit"


class _DecoratedBashOperator(BashOperator):
    """The function returns the command. Its result is used as is: it is not a template."""

    custom_operator_name: ClassVar[str | None] = "@task.bash"
    template_fields: ClassVar[tuple[str, ...]] = ("op_args", "op_kwargs", "env", "cwd")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(bash_command="(set by the decorated function)", **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})

    async def aexecute(self, context: Context) -> Any:
        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        command = self.python_callable(*self.op_args, **kwargs)
        if not isinstance(command, str) or not command.strip():
            raise TypeError(
                "The returned value from the TaskFlow callable must be a non-empty string."
            )
        self.bash_command = command
        return await super().aexecute(context)


class _DecoratedSensorOperator(BaseSensorOperator):
    custom_operator_name: ClassVar[str | None] = "@task.sensor"
    template_fields: ClassVar[tuple[str, ...]] = ("op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("multiple_outputs", None):
            raise TypeError(
                "@task.sensor takes no multiple_outputs: a sensor pushes its PokeReturnValue's "
                "xcom_value (as Airflow's, which refuses the argument)"
            )
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})

    def poke(self, context: Context) -> bool | PokeReturnValue:
        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        result: bool | PokeReturnValue = self.python_callable(*self.op_args, **kwargs)
        return result


def _infer_multiple_outputs(function: Callable[..., Any]) -> bool:
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        return False
    ret = hints.get("return")
    return ret is dict or typing.get_origin(ret) in (dict, Mapping)


def _unique_task_id(task_id: str, dag: DAG | None, group: TaskGroup | None) -> str:
    """``task_id``, or ``task_id__N`` when the DAG has it already (a function called twice)."""
    if dag is None:
        return task_id
    full = group.child_id(task_id) if group else task_id
    if full not in dag.task_dict:
        return task_id
    n = 1
    while (group.child_id(f"{task_id}__{n}") if group else f"{task_id}__{n}") in dag.task_dict:
        n += 1
    return f"{task_id}__{n}"


class TaskDecorator:
    """A function turned into a task factory; calling it inside a DAG adds a task."""

    def __init__(
        self,
        function: Callable[..., Any],
        operator_class: type[BaseOperator],
        kwargs: dict[str, Any],
    ) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.operator_class = operator_class
        self.kwargs = kwargs
        #: set by ``@setup`` / ``@teardown``
        self.is_setup = False
        self.is_teardown = False
        self.on_failure_fail_dagrun = False
        #: set by ``@result``: the task's return value is its DAG run's result
        self.returns_dag_result = False

    def _operator_kwargs(self, extra: dict[str, Any]) -> dict[str, Any]:
        kwargs = {**self.kwargs, **extra}
        kwargs.pop("on_failure_fail_dagrun", None)
        if self.is_teardown:
            if "trigger_rule" in kwargs:
                raise ValueError("Trigger rule not configurable for teardown tasks.")
            kwargs["trigger_rule"] = TriggerRule.ALL_DONE_SETUP_SUCCESS
        infers = getattr(self.operator_class, "infers_multiple_outputs", False)
        if (self.operator_class is _DecoratedPythonOperator or infers) and kwargs.get(
            "multiple_outputs"
        ) is None:
            kwargs["multiple_outputs"] = _infer_multiple_outputs(self.function)
        if kwargs.get("multiple_outputs") is None:
            kwargs.pop("multiple_outputs", None)
        dag = kwargs.get("dag") or _stack.current_dag()
        group = kwargs.get("task_group") or _stack.current_group(dag)
        kwargs["task_id"] = _unique_task_id(
            kwargs.get("task_id") or self.function.__name__, dag, group
        )
        if "doc_md" not in kwargs and self.function.__doc__:
            kwargs["doc_md"] = inspect.cleandoc(self.function.__doc__)
        return kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        _check_call(self.function, args, kwargs)
        op = self.operator_class(
            python_callable=self.function,
            op_args=list(args),
            op_kwargs=kwargs,
            **self._operator_kwargs({}),
        )
        self._mark(op)
        return XComArg(op)

    def _mark(self, op: BaseOperator | MappedOperator) -> None:
        """Give the task this decorator's setup/teardown role."""
        op.is_setup = self.is_setup
        op.is_teardown = self.is_teardown
        if self.returns_dag_result:
            op.returns_dag_result = True
        op.on_failure_fail_dagrun = self.kwargs.get(
            "on_failure_fail_dagrun", self.on_failure_fail_dagrun
        )

    def override(self, **kwargs: Any) -> TaskDecorator:
        new = TaskDecorator(self.function, self.operator_class, {**self.kwargs, **kwargs})
        new.is_setup, new.is_teardown = self.is_setup, self.is_teardown
        new.on_failure_fail_dagrun = self.on_failure_fail_dagrun
        new.returns_dag_result = self.returns_dag_result
        return new

    def partial(self, **kwargs: Any) -> _TaskPartial:
        return _TaskPartial(self, kwargs)

    def expand(self, **kwargs: Any) -> XComArg:
        return _TaskPartial(self, {}).expand(**kwargs)

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        return _TaskPartial(self, {}).expand_kwargs(kwargs_list)


class _TaskPartial:
    def __init__(self, decorator: TaskDecorator, kwargs: dict[str, Any]) -> None:
        self.decorator = decorator
        self.op_kwargs = kwargs

    def _partial(self) -> OperatorPartial:
        kwargs = self.decorator._operator_kwargs({})
        kwargs.update(python_callable=self.decorator.function, op_kwargs=dict(self.op_kwargs))
        return OperatorPartial(self.decorator.operator_class, kwargs, expand_into="op_kwargs")

    def expand(self, **kwargs: Any) -> XComArg:
        mapped: MappedOperator = self._partial().expand(**kwargs)
        self.decorator._mark(mapped)
        return XComArg(mapped)

    def expand_kwargs(self, kwargs_list: Any) -> XComArg:
        mapped = self._partial().expand_kwargs(kwargs_list)
        self.decorator._mark(mapped)
        return XComArg(mapped)


def _check_call(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Fail at DAG definition when the call does not fit the function's signature.

    Parameters named like context values (``ti``, ``ds``...) may be left out: the task fills them.
    """
    signature = inspect.signature(function)
    params = [
        p.replace(default=None) if p.name in _CONTEXT_KEYS and p.default is p.empty else p
        for p in signature.parameters.values()
    ]
    try:
        relaxed = signature.replace(parameters=params)
    except ValueError:  # a context parameter before plain ones: only check what was passed
        relaxed = None
    try:
        if relaxed is None:
            signature.bind_partial(*args, **kwargs)
        else:
            relaxed.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{function.__name__}(): {err}") from None


#: Airflow 3.1's KNOWN_CONTEXT_KEYS (its Context's keys) and the keys Airflow 2 also offered
_CONTEXT_KEYS = frozenset(
    {
        *("conn", "dag", "dag_run", "data_interval_end", "data_interval_start", "ds"),
        *("ds_nodash", "exception", "expanded_ti_count", "inlet_events", "inlets"),
        *("logical_date", "macros", "map_index_template", "outlet_events", "outlets"),
        *("params", "prev_data_interval_end_success", "prev_data_interval_start_success"),
        *("prev_end_date_success", "prev_start_date_success", "reason", "run_id"),
        *("start_date", "task", "task_instance", "task_instance_key_str"),
        *("task_reschedule_count", "templates_dict", "test_mode", "ti"),
        *("triggering_asset_events", "try_number", "ts", "ts_nodash", "ts_nodash_with_tz"),
        *("var",),
        # Airflow 2
        *("conf", "execution_date", "next_ds", "next_ds_nodash", "next_execution_date"),
        *("prev_ds", "prev_ds_nodash", "prev_execution_date", "prev_execution_date_success"),
        *("tomorrow_ds", "tomorrow_ds_nodash", "yesterday_ds", "yesterday_ds_nodash"),
        *("triggering_dataset_events",),
    }
)


def _make(operator_class: type[BaseOperator]) -> Callable[..., Any]:
    def decorator(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        if python_callable is not None:
            return TaskDecorator(python_callable, operator_class, kwargs)
        return lambda function: TaskDecorator(function, operator_class, kwargs)

    return decorator


def _unsupported(name: str) -> Callable[..., Any]:
    def decorator(*_: Any, **__: Any) -> Any:
        raise UnsupportedFeature(
            f"@task.{name} is not supported by Airlane; use @task or @task.bash"
        )

    return decorator


class _TaskNamespace:
    """``@task`` and its variants."""

    python = staticmethod(_make(_DecoratedPythonOperator))
    branch = staticmethod(_make(_DecoratedBranchOperator))
    short_circuit = staticmethod(_make(_DecoratedShortCircuitOperator))
    bash = staticmethod(_make(_DecoratedBashOperator))
    sensor = staticmethod(_make(_DecoratedSensorOperator))
    virtualenv = staticmethod(_make(_DecoratedVirtualenvOperator))
    external_python = staticmethod(_make(_DecoratedExternalPythonOperator))
    branch_virtualenv = staticmethod(_make(_DecoratedBranchVirtualenvOperator))
    branch_external_python = staticmethod(_make(_DecoratedBranchExternalPythonOperator))
    docker = staticmethod(_unsupported("docker"))
    kubernetes = staticmethod(_unsupported("kubernetes"))

    def __call__(self, python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        return self.python(python_callable, **kwargs)

    def __getattr__(self, name: str) -> Any:
        """``@task.<name>`` registered by an installed provider package (``@task.sql``)."""
        from airlane.sdk.task_decorator import provider_task_decorator

        return provider_task_decorator(self, name)


task = _TaskNamespace()


class DagParam:
    """A ``@dag`` function's argument: resolved from the run's params when a task runs."""

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default

    def resolve(self, context: Context) -> Any:
        params = context.get("params") or {}
        return params.get(self.name, self.default)


def dag(dag_id: Any = None, **dag_kwargs: Any) -> Any:
    """``@dag(...)`` (or bare ``@dag``): calling the function builds and returns the DAG."""

    def wrapper(function: Callable[..., Any], name: str | None = None) -> Callable[..., DAG]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def factory(*args: Any, **kwargs: Any) -> DAG:
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            params = dict(dag_kwargs.get("params") or {})
            for key, value in bound.arguments.items():
                if key not in params:
                    params[key] = value if isinstance(value, Param) else Param(value)
            doc = dag_kwargs.get("doc_md") or (
                inspect.cleandoc(function.__doc__) if function.__doc__ else None
            )
            options = {**dag_kwargs, "params": params, "doc_md": doc}
            with DAG(name or function.__name__, **options) as new_dag:
                refs = {
                    k: DagParam(k, v.value if isinstance(v, Param) else v)
                    for k, v in bound.arguments.items()
                }
                returned = function(**refs)
                if is_dag_result(returned):  # (Airflow 3.3: the function's return is the
                    new_dag.add_result(returned)  # run's result)
            return new_dag

        return factory

    if callable(dag_id) and not isinstance(dag_id, str):
        return wrapper(dag_id)
    if isinstance(dag_id, str):
        return lambda function: wrapper(function, dag_id)
    return wrapper


def result(decorated: Any) -> Any:
    """Airflow 3.3's ``@result``, on top of ``@task``: the task's return value is its DAG
    run's result (what ``GET .../dagRuns/{run_id}/wait`` returns without ``result=``)."""
    if not isinstance(decorated, TaskDecorator):
        raise TypeError("@result must be used on top of a @task-decorated function")
    decorated.returns_dag_result = True
    return decorated


def is_dag_result(value: Any) -> bool:
    """Whether ``value`` is a task's plain return value (the only XComArg a result can be)."""
    return isinstance(value, XComArg) and value.key == "return_value"


def task_group(group_id: Any = None, **group_kwargs: Any) -> Any:
    """``@task_group``: calling the function opens a task group around what it creates;
    ``.override()`` changes the group's arguments; ``.partial()`` / ``.expand()`` /
    ``.expand_kwargs()`` make a mapped task group."""

    def wrapper(function: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        return _group_factory(
            function, {"group_id": name, **group_kwargs} if name else group_kwargs
        )

    if callable(group_id) and not isinstance(group_id, str):
        return wrapper(group_id)
    if isinstance(group_id, str):
        return lambda function: wrapper(function, group_id)
    return wrapper


def _group_factory(
    function: Callable[..., Any], group_kwargs: dict[str, Any]
) -> Callable[..., Any]:
    """The decorated ``@task_group`` function, building its group with ``group_kwargs``."""
    from airlane.sdk.mapped_group import GroupExpander

    def build(
        group_class: type[TaskGroup], extra: dict[str, Any], call: Callable[[TaskGroup], Any]
    ) -> Any:
        options = {"add_suffix_on_collision": True, **group_kwargs, **extra}
        group_id = options.pop("group_id", None) or function.__name__
        if "tooltip" not in options and function.__doc__:
            options["tooltip"] = inspect.cleandoc(function.__doc__)
        with group_class(group_id, **options) as group:
            result = call(group)
        if isinstance(result, XComArg | BaseOperator | MappedOperator | TaskGroup):
            return result
        return group

    @functools.wraps(function)
    def factory(*args: Any, **kwargs: Any) -> Any:
        return build(TaskGroup, {}, lambda _group: function(*args, **kwargs))

    expander = GroupExpander(function, build)
    factory.expand = expander.expand  # type: ignore[attr-defined]
    factory.expand_kwargs = expander.expand_kwargs  # type: ignore[attr-defined]
    factory.partial = expander.partial  # type: ignore[attr-defined]
    factory.override = lambda **kwargs: _group_factory(  # type: ignore[attr-defined]
        function, {**group_kwargs, **kwargs}
    )
    return factory
