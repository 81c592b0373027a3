"""PythonOperator and friends: call a Python callable with the context it asks for."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from airlane.sdk.asset_events import call_feeding_outlet_events
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context, current_log, log_closing
from airlane.sdk.exceptions import AirflowException


def _parameters(func: Callable[..., Any]) -> tuple[bool, tuple[str, ...], frozenset[str]]:
    """(takes ``**kwargs``, positional names in order, names a keyword may fill)."""
    params = list(inspect.signature(func).parameters.values())
    positional = tuple(
        p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )
    named = frozenset(p.name for p in params if p.kind != p.VAR_POSITIONAL)
    return any(p.kind == p.VAR_KEYWORD for p in params), positional, named


#: per callable (a process's tries call the same few): inspect.signature is slow
_cached_parameters = functools.lru_cache(maxsize=1024)(_parameters)


def determine_kwargs(
    func: Callable[..., Any], args: Collection[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments for ``func``: all of ``kwargs`` when it takes ``**kwargs``,
    else only the names in its signature that are not filled by positional ``args``."""
    try:
        var_keyword, positional, named = _cached_parameters(func)
    except TypeError:  # a callable that cannot be hashed
        var_keyword, positional, named = _parameters(func)
    if var_keyword:
        return dict(kwargs)
    names = named - set(positional[: len(args)])
    return {k: v for k, v in kwargs.items() if k in names}


class PythonOperator(BaseOperator):
    """Call ``python_callable(*op_args, **op_kwargs)``, adding context values it names.

    A blocking callable runs in a thread (or a process pool on workers configured so); an
    ``async def`` callable runs on the event loop.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "templates_dict": "json",
        "op_args": "py",
        "op_kwargs": "py",
    }
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        templates_exts: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        if not callable(python_callable):
            raise AirflowException("`python_callable` param must be callable")
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        self.templates_exts = templates_exts
        if templates_exts:
            # As Airflow: the extensions of templated values read from files (``.sql``...)
            self.template_ext = tuple(templates_exts)  # type: ignore[misc]
        self.show_return_value_in_logs = show_return_value_in_logs

    def call_arguments(self, context: Context) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the callable, context values included."""
        context["templates_dict"] = self.templates_dict
        available = {**context, **self.op_kwargs}
        kwargs = determine_kwargs(self.python_callable, self.op_args, available)
        return list(self.op_args), kwargs

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.python_callable)

    def execute(self, context: Context) -> Any:
        args, kwargs = self.call_arguments(context)
        outlet_events = context.get("outlet_events")
        result = call_feeding_outlet_events(self.python_callable, args, kwargs, outlet_events)
        self.log_result(result)
        return result

    async def aexecute_async_callable(self, context: Context) -> Any:
        args, kwargs = self.call_arguments(context)
        result = await self.python_callable(*args, **kwargs)
        self.log_result(result)
        return result

    def log_result(self, result: Any) -> None:
        if self.show_return_value_in_logs:
            log_closing(f"Done. Returned value was: {result!r}")
        else:
            log_closing("Done. Returned value not shown")


class SkipMixin:
    """Airflow's SkipMixin API: the running task records which downstream tasks to follow."""

    def skip_all_except(self, ti: Any, branch_task_ids: str | Iterable[str] | None) -> None:
        ti.follow_branches(branch_task_ids)

    def skip(self, ti: Any, tasks: Iterable[Any]) -> None:
        """Skip ``tasks`` (operators directly downstream of the running one) in this run, as
        Airflow: nothing for an instance of a mapped task. Airlane skips them as a branch does
        (the others downstream are followed); a task further away is refused."""
        skipped = {node.task_id for node in tasks if hasattr(node, "task_id")}
        if not skipped or ti.map_index != -1:
            return
        downstream = set(ti.task.downstream_task_ids)
        beyond = sorted(skipped - downstream)
        if beyond:
            raise AirflowException(
                f"SkipMixin.skip: Airlane skips only tasks directly downstream of "
                f"{ti.task.task_id}; not downstream: {beyond}"
            )
        following = set(ti.follow) if ti.follow is not None else downstream
        ti.follow_branches(sorted(following - skipped))


class BranchMixIn(SkipMixin):
    """Airflow 3.3's branching helper: ``do_branch(context, task_ids)`` follows those tasks
    (task groups by their roots) and skips the other direct downstream ones."""

    def do_branch(
        self, context: Context, branches_to_execute: str | Iterable[str] | None
    ) -> str | Iterable[str] | None:
        current_log()(f"Branch into {branches_to_execute}")
        self.skip_all_except(context["ti"], branches_to_execute)
        return branches_to_execute


class BaseBranchOperator(BaseOperator, BranchMixIn):
    """Subclass and implement ``choose_branch(context)`` returning task id(s) to follow."""

    task_kind: ClassVar[str] = "branch"

    def choose_branch(self, context: Context) -> str | Iterable[str] | None:
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        return self.do_branch(context, self.choose_branch(context))


class BranchPythonOperator(PythonOperator, SkipMixin):
    """The callable returns the task id (or ids) to follow; other direct downstream are skipped."""

    task_kind: ClassVar[str] = "branch"

    def execute(self, context: Context) -> Any:
        branches = super().execute(context)
        self.skip_all_except(context["ti"], branches)
        return branches

    async def aexecute_async_callable(self, context: Context) -> Any:
        branches = await super().aexecute_async_callable(context)
        self.skip_all_except(context["ti"], branches)
        return branches


class ShortCircuitOperator(PythonOperator, SkipMixin):
    """When the callable returns a falsy value, skip downstream tasks.

    With ``ignore_downstream_trigger_rules`` (the default) every downstream task is skipped;
    without it only the direct downstream tasks, and trigger rules decide for the rest.
    """

    task_kind: ClassVar[str] = "short_circuit"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: Context) -> Any:
        condition = super().execute(context)
        self._decide(context, condition)
        return condition

    async def aexecute_async_callable(self, context: Context) -> Any:
        condition = await super().aexecute_async_callable(context)
        self._decide(context, condition)
        return condition

    def _decide(self, context: Context, condition: Any) -> None:
        log = current_log()
        if condition:
            log("Condition result is True, proceeding with downstream tasks")
            return
        scope = "all" if self.ignore_downstream_trigger_rules else "direct"
        log(f"Condition result is {condition!r}: skipping {scope} downstream tasks")
        context["ti"].short_circuit(scope)
