"""BaseOperator: what every task is made from, with Airflow's arguments and defaults."""

from __future__ import annotations

import asyncio
import functools
import inspect
import warnings
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airlane.sdk import _stack, deferral, setup_teardown
from airlane.sdk.dag import validate_key
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.logging_mixin import LoggingMixin
from airlane.sdk.node import DAGNode, chain, chain_linear, cross_downstream
from airlane.sdk.operator_link import BaseOperatorLink
from airlane.sdk.params import ParamsDict
from airlane.sdk.priority_strategy import PriorityWeightStrategy, load_weight_rule
from airlane.sdk.retry_policy import RetryPolicy
from airlane.sdk.templater import Templater
from airlane.sdk.timezone import coerce_datetime
from airlane.sdk.trigger_rule import TriggerRule, normalize_trigger_rule
from airlane.sdk.xcom_arg import XComArg, wire_xcom_args

if TYPE_CHECKING:
    from airlane.sdk.context import Context
    from airlane.sdk.dag import DAG
    from airlane.sdk.mapped import OperatorPartial
    from airlane.sdk.taskgroup import TaskGroup
    from airlane.sdk.triggers import BaseTrigger, StartTriggerArgs

__all__ = ["BaseAsyncOperator", "BaseOperator", "chain", "chain_linear", "cross_downstream"]

DEFAULT_RETRY_DELAY = timedelta(seconds=300)
DEFAULT_QUEUE = "default"
DEFAULT_POOL = "default_pool"
WEIGHT_RULES = ("downstream", "upstream", "absolute")
#: Airflow 3's warning for the SLA arguments, which it accepts and no longer acts on
SLA_REMOVED = "The SLA feature is removed in Airflow 3.0, replaced with Deadline Alerts in >=3.1"


def _refuse_executor(task_id: str, executor: str | None) -> None:
    """Airflow refuses an executor that is not configured; Airlane has only its workers."""
    if executor:
        raise AirflowException(
            f"Task '{task_id}' specifies executor '{executor}', which is not available: "
            "Airlane runs every task on its own workers (choose them with queue=)"
        )


#: Arguments of Airflow 1.x that later versions dropped: ``provide_context=True`` (a callable
#: gets the context names it declares, as since Airflow 2) and ``xcom_push`` (``do_xcom_push``)
_LEGACY_ACCEPTED = frozenset({"provide_context", "xcom_push"})

Callback = Callable[..., Any] | list[Callable[..., Any]] | None


def _guard_nested(execute: Callable[..., Any]) -> Callable[..., Any]:
    """``execute`` refusing to run, with ``allow_nested_operators=False``, for any operator
    but the running task's (Airflow's ExecutorSafeguard: one operator's execute called from
    another's); with True (the default) it runs, as Airflow's does after a warning."""
    if getattr(execute, "_airlane_nested_guard", False):
        return execute

    @functools.wraps(execute)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self, "allow_nested_operators", True):
            from airlane.sdk.context import current_task_or_none

            if current_task_or_none() is not self:
                raise RuntimeError(
                    f"{type(self).__name__}.{execute.__name__} cannot be called outside of the "
                    "Task Runner!"
                )
        return execute(self, *args, **kwargs)

    guarded._airlane_nested_guard = True  # type: ignore[attr-defined]
    return guarded


_init_parameters: dict[type, tuple[inspect.Parameter, ...]] = {}
_init_names: dict[type, frozenset[str]] = {}


def init_parameters(cls: type) -> tuple[inspect.Parameter, ...]:
    """The keyword parameters of every ``__init__`` along ``cls``'s MRO (cached per class:
    a DAG file may build thousands of operators)."""
    found = _init_parameters.get(cls)
    if found is None:
        params: list[inspect.Parameter] = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for name, param in inspect.signature(init).parameters.items():
                if (
                    param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
                    and name != "self"
                ):
                    params.append(param)
        found = _init_parameters[cls] = tuple(params)
    return found


def _init_param_names(cls: type) -> frozenset[str]:
    names = _init_names.get(cls)
    if names is None:
        names = _init_names[cls] = frozenset(param.name for param in init_parameters(cls))
    return names


def _apply_defaults(init: Callable[..., None]) -> Callable[..., None]:
    """Fill arguments that the caller left out from the DAG's and task group's ``default_args``."""

    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_defaults_applied", False):
            init(self, *args, **kwargs)
            return
        self._defaults_applied = True
        dag = kwargs.get("dag") or _stack.current_dag()
        group = kwargs.get("task_group") or _stack.current_group(dag)
        default_args = {
            **(dag.default_args if dag else {}),
            **(group.default_args if group else {}),
            **(kwargs.pop("default_args", None) or {}),
        }
        for name in _init_param_names(type(self)):
            if name not in kwargs and name in default_args and name != "params":
                kwargs[name] = default_args[name]
        kwargs["_dag_params"] = {**default_args.get("params", {})}
        init(self, *args, **kwargs)
        self._defaults_applied = False
        self._on_init_done()

    return wrapper


class BaseOperator(DAGNode, Templater, LoggingMixin):
    """Base of every operator: identity, retry policy, trigger rule, queue and callbacks."""

    #: as Airflow: an operator's logger is ``airflow.task.operators.<module>.<class>``
    _log_config_logger_name = "airflow.task.operators"

    template_fields: ClassVar[Sequence[str]] = ()
    template_ext: ClassVar[Sequence[str]] = ()
    #: links to external systems (sdk/operator_link.py): each pushed as an XCom when a try
    #: ends, read by the API's ``links`` route
    operator_extra_links: Collection[BaseOperatorLink] = ()
    template_fields_renderers: ClassVar[dict[str, str]] = {}
    ui_color: str = "#fff"
    ui_fgcolor: str = "#000"
    #: The coordinator completes these itself; they are never sent to a worker.
    is_empty: ClassVar[bool] = False
    #: ``normal``, ``branch``, ``short_circuit``, ``sensor`` or ``trigger_dagrun``.
    task_kind: ClassVar[str] = "normal"
    custom_operator_name: ClassVar[str | None] = None
    _defaults_applied: bool = False
    #: Airflow's start-from-trigger attributes; as in Airflow 3.1.8 (whose scheduler has this
    #: path disabled) the task runs ``execute`` on a worker, which may defer
    start_trigger_args: StartTriggerArgs | None = None
    start_from_trigger: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _apply_defaults(cls.__dict__["__init__"])  # type: ignore[method-assign]
        if inspect.isfunction(cls.__dict__.get("execute")):  # (not a staticmethod's)
            cls.execute = _guard_nested(cls.__dict__["execute"])  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = "airflow",
        email: str | list[str] | None = None,
        email_on_retry: bool = True,
        email_on_failure: bool = True,
        retries: int | None = 0,
        retry_delay: timedelta | float = DEFAULT_RETRY_DELAY,
        retry_exponential_backoff: float = False,
        max_retry_delay: timedelta | float | None = None,
        retry_policy: RetryPolicy | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        depends_on_past: bool = False,
        ignore_first_depends_on_past: bool = False,
        wait_for_past_depends_before_skipping: bool = False,
        wait_for_downstream: bool = False,
        dag: DAG | None = None,
        params: dict[str, Any] | None = None,
        priority_weight: int = 1,
        weight_rule: str | PriorityWeightStrategy = "downstream",
        queue: str = DEFAULT_QUEUE,
        pool: str | None = None,
        pool_slots: int = 1,
        execution_timeout: timedelta | float | None = None,
        on_execute_callback: Callback = None,
        on_failure_callback: Callback = None,
        on_success_callback: Callback = None,
        on_retry_callback: Callback = None,
        on_skipped_callback: Callback = None,
        trigger_rule: str = TriggerRule.ALL_SUCCESS,
        max_active_tis_per_dag: int | None = None,
        max_active_tis_per_dagrun: int | None = None,
        task_concurrency: int | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        task_group: TaskGroup | None = None,
        doc: str | None = None,
        doc_md: str | None = None,
        task_display_name: str | None = None,
        pre_execute: Any = None,
        post_execute: Any = None,
        # As in Airflow 3: sla warns that the feature is gone; an executor that is not
        # available (here: any) is refused, and so is run_as_user (no impersonation here).
        sla: Any = None,
        executor: str | None = None,
        run_as_user: str | None = None,
        # Read only by executors Airlane does not have (Airflow's Kubernetes and Celery ones
        # ignore each other's): accepted as Airflow's other executors accept them.
        resources: Any = None,
        executor_config: dict[str, Any] | None = None,
        inlets: Any = None,
        outlets: Any = None,
        map_index_template: str | None = None,
        allow_nested_operators: bool = True,
        logger_name: str | None = None,
        doc_json: str | None = None,
        doc_yaml: str | None = None,
        doc_rst: str | None = None,
        _dag_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = {k: v for k, v in kwargs.items() if k not in _LEGACY_ACCEPTED}
        if kwargs.get("provide_context", True) is not True:
            raise AirflowException(
                f"Task '{task_id}' sets provide_context={kwargs['provide_context']!r} (Airflow "
                "1): a callable gets the context names it declares, as since Airflow 2; leave "
                "the argument out"
            )
        if unknown:
            raise AirflowException(
                f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
                f"Invalid arguments were:\n**kwargs: {unknown}"
            )
        _refuse_executor(task_id, executor)
        if run_as_user:
            raise AirflowException(
                f"Task '{task_id}' sets run_as_user={run_as_user!r}: Airlane does not run tasks "
                "as another user (run the worker as that user instead)"
            )
        if sla is not None:
            warnings.warn(SLA_REMOVED, stacklevel=2)
        if kwargs.get("xcom_push") is not None:
            do_xcom_push = bool(kwargs["xcom_push"])
        validate_key(task_id, "task_id")
        self.owner = owner
        self.email = email
        self.allow_nested_operators = allow_nested_operators
        self.email_on_retry = email_on_retry
        self.email_on_failure = email_on_failure
        self.retries = int(retries or 0)
        delay = _as_timedelta(retry_delay, "retry_delay")
        self.retry_delay = DEFAULT_RETRY_DELAY if delay is None else delay
        self.retry_exponential_backoff = retry_exponential_backoff
        self.max_retry_delay = _as_timedelta(max_retry_delay, "max_retry_delay")
        #: Airflow 3.3's retry policy (sdk/retry_policy.py), asked by the task runner when a
        #: try fails
        self.retry_policy = retry_policy
        self.start_date = coerce_datetime(start_date)
        self.end_date = coerce_datetime(end_date)
        self.depends_on_past = depends_on_past or wait_for_downstream
        self.ignore_first_depends_on_past = ignore_first_depends_on_past
        self.wait_for_past_depends_before_skipping = wait_for_past_depends_before_skipping
        self.wait_for_downstream = wait_for_downstream
        self.priority_weight = int(priority_weight)
        #: a built-in rule's name or a plugin's PriorityWeightStrategy (sdk/priority_strategy.py)
        self.weight_rule = _weight_rule(weight_rule)
        self.queue = queue or DEFAULT_QUEUE
        self.pool = pool or DEFAULT_POOL
        if pool_slots < 1:
            raise ValueError(f"pool slots for {task_id} cannot be less than 1")
        self.pool_slots = pool_slots
        self.execution_timeout = _as_timedelta(execution_timeout, "execution_timeout")
        self.on_execute_callback = on_execute_callback
        self.on_failure_callback = on_failure_callback
        self.on_success_callback = on_success_callback
        self.on_retry_callback = on_retry_callback
        self.on_skipped_callback = on_skipped_callback
        try:
            self.trigger_rule = normalize_trigger_rule(trigger_rule)
        except ValueError as err:
            raise AirflowException(f"Task {task_id}: {err}") from None
        self.max_active_tis_per_dag = max_active_tis_per_dag or task_concurrency
        self.max_active_tis_per_dagrun = max_active_tis_per_dagrun
        self.do_xcom_push = do_xcom_push
        #: rendered after the task ran, with its context: the instance's display name
        self.map_index_template = map_index_template
        self.multiple_outputs = multiple_outputs
        self.doc_md = doc_md or doc
        self.executor_config = executor_config or {}
        if executor_config:  # (Airflow's Local and Celery executors do not read it either)
            warnings.warn(
                f"Task '{task_id}' sets executor_config, which only Airflow's Kubernetes "
                "executor reads (pod_override...): Airlane's workers run it without",
                UserWarning,
                stacklevel=2,
            )
        #: assets the task reads and updates (``sdk.assets``; other objects are kept as
        #: Airflow keeps lineage objects, and left out of the serialized DAG)
        self.inlets: list[Any] = _as_lineage_list(inlets)
        self.outlets: list[Any] = _as_lineage_list(outlets)
        self._pre_execute_hook = pre_execute
        self._post_execute_hook = post_execute
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.params = ParamsDict(_dag_params or {})
        for key, value in (params or {}).items():
            self.params[key] = value
        self._dag: DAG | None = None
        self.task_group: TaskGroup | None = None
        self.task_display_name = task_display_name  # (the task id once registered, if none)
        self._register(task_id, dag, task_group)
        self.task_display_name = task_display_name or self.task_id
        if logger_name is not None:
            self._logger_name = logger_name
        if self.has_dag:
            setup_teardown.note_task(self)

    def _register(self, task_id: str, dag: DAG | None, task_group: TaskGroup | None) -> None:
        dag = dag or _stack.current_dag()
        group = task_group or _stack.current_group(dag)
        if group is None and dag is not None:
            group = dag.task_group
        self.task_id = group.child_id(task_id) if group else task_id
        if dag is not None:
            self._attach_to_dag(dag, group)
        elif group is not None:
            self.task_group = group

    def _attach_to_dag(self, dag: DAG, group: TaskGroup | None = None) -> None:
        if self._dag is dag:
            return
        if self._dag is not None:
            raise AirflowException(f"Task {self.task_id} already belongs to DAG {self._dag.dag_id}")
        dag.add_task(self)
        self._dag = dag
        self.task_group = group or self.task_group or dag.task_group
        self.task_group.add(self)
        if self.start_date is None:
            self.start_date = dag.start_date
        if self.end_date is None:
            self.end_date = dag.end_date
        dag_params = dag.params.merged({})
        for key in self.params:
            dag_params[key] = self.params.get_param(key)
        self.params = dag_params

    def _on_init_done(self) -> None:
        """Called once the whole ``__init__`` chain ran: wire tasks referenced by XComArgs."""
        wire_xcom_args(self, *(getattr(self, name, None) for name in self.template_fields))

    @property
    def dag(self) -> DAG | None:
        return self._dag

    @dag.setter
    def dag(self, dag: DAG | None) -> None:
        if dag is not None:
            self._attach_to_dag(dag)

    @property
    def has_dag(self) -> bool:
        return self._dag is not None

    @property
    def has_retry_policy(self) -> bool:
        return bool(self.retry_policy)

    @property
    def extra_links(self) -> list[str]:
        """The names of the operator's extra links."""
        return sorted({link.name for link in self.operator_extra_links})

    @property
    def dag_id(self) -> str:
        return self._dag.dag_id if self._dag else f"adhoc_{self.owner}"

    @property
    def output(self) -> XComArg:
        """This task's return value, as an input for other tasks."""
        return XComArg(self)

    @property
    def operator_name(self) -> str:
        return self.custom_operator_name or type(self).__name__

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """Fix the arguments shared by every mapped task instance; call ``.expand()`` next."""
        from airlane.sdk.mapped import OperatorPartial

        return OperatorPartial(cls, kwargs)

    def execute(self, context: Context) -> Any:
        """Run the task. Subclasses override this (or ``aexecute`` for work done on the loop)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement execute()")

    def pre_execute(self, context: Context) -> None:
        """Hook run before ``execute``: the ``pre_execute`` callable given, if any."""
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def post_execute(self, context: Context, result: Any = None) -> None:
        """Hook run after ``execute``: the ``post_execute`` callable given, if any."""
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def on_kill(self) -> None:
        """Hook run when the task is stopped from outside."""

    def defer(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> NoReturn:
        """Suspend the task until ``trigger`` fires; it resumes in ``method_name(context,
        event=..., **kwargs)`` on any worker, with the same try number. ``timeout`` fails it
        with TaskDeferralTimeout."""
        deferral.defer(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context
    ) -> Any:
        """What the task runner calls instead of ``execute`` when this task is resumed."""
        return deferral.resume_execution(self, next_method, next_kwargs, context)

    def expand_start_trigger_args(self, *, context: Context) -> StartTriggerArgs | None:
        return self.start_trigger_args

    def xcom_push(self, context: Context, key: str, value: Any) -> None:
        context["ti"].xcom_push(key=key, value=value)

    def xcom_pull(self, context: Context, task_ids: Any = None, key: str = "return_value") -> Any:
        return context["ti"].xcom_pull(task_ids=task_ids, key=key)


class BaseAsyncOperator(BaseOperator):
    """Airflow 3.3's base of operators whose work is a coroutine, ``aexecute(context)``, run
    on the worker (unlike deferral's triggerer). The task runner awaits it on the try's event
    loop within ``execution_timeout``; ``execute`` runs it on a loop of its own, for code that
    calls it directly."""

    @property
    def is_async(self) -> bool:
        return True

    async def aexecute(self, context: Context) -> Any:
        """The operator's work; subclasses implement it."""
        raise NotImplementedError()

    def execute(self, context: Context) -> Any:
        timeout = self.execution_timeout
        work = self.aexecute(context)
        if timeout is not None:
            work = asyncio.wait_for(work, timeout.total_seconds())
        return asyncio.run(work)


def _as_timedelta(value: timedelta | float | None, name: str) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise AirflowException(f"{name} must be a timedelta or a number of seconds, got {value!r}")


# BaseOperator's own __init__ applies default_args too when it is instantiated directly.
BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)  # type: ignore[method-assign]


def _weight_rule(weight_rule: Any) -> str | PriorityWeightStrategy:
    if isinstance(weight_rule, str) and weight_rule in WEIGHT_RULES:
        return str(weight_rule)
    if isinstance(weight_rule, str) and "." not in weight_rule:
        raise AirflowException(f"weight_rule must be one of {WEIGHT_RULES}; got {weight_rule!r}")
    return load_weight_rule(weight_rule)  # a custom strategy, registered by a plugin


def _as_lineage_list(value: Any) -> list[Any]:
    """Airflow's rule for ``inlets``/``outlets``: None is empty, a list is kept, anything
    else is a list of one."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def email_alert_ends(task: Any) -> list[str]:
    """Which ends of ``task``'s tries send it an email ("failure": ``email_on_failure``,
    "retry": ``email_on_retry``; both True by default): none without ``email``."""
    if not getattr(task, "email", None):
        return []
    flags = (("failure", "email_on_failure"), ("retry", "email_on_retry"))
    return [end for end, flag in flags if getattr(task, flag, True)]
