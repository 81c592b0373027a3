"""Running one task try: unmap, render templates, execute, push XComs, classify the outcome.

Workers and ``dags test`` share this code, so a task behaves the same in both.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
import orjson
import pendulum

from airlane.engine.retry_policy import is_eligible_to_retry
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk import task_log
from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import (
    ClosingLines,
    Context,
    capture_task_output,
    release_closing,
    use_context,
)
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from airlane.sdk.mapped import MappedOperator
from airlane.sdk.node import DAGNode
from airlane.sdk.operators.python import PythonOperator
from airlane.sdk.retry_policy import RetryAction, RetryPolicy
from airlane.sdk.secrets_masker import mask_text, redact
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.templater import overrides_rendering, render_operator
from airlane.sdk.templating import render_map_index, rendered_snapshot
from airlane.sdk.xcom_arg import RETURN_VALUE_KEY, XComArg
from airlane.service.execution.class_facts import (
    class_uses_aexecute,
    overrides_base,
    shallow_copy,
    utc_from_timestamp,
)
from airlane.service.execution.context_builder import RunInfo, build_context
from airlane.service.execution.deferral import Resume, deferral_of, ended_by_trigger, run_resumed
from airlane.service.execution.email_alerts import send_error_email, wants_email
from airlane.service.execution.main_thread import call_with_alarm
from airlane.service.execution.runtime_ti import (
    RuntimeTaskInstance,
    XComAccess,
    purge_with_backend,
    xcom_backend_class,
)
from airlane.service.execution.tracebacks import task_failure_text

LogFn = Callable[[str], None]
DEFAULT_XCOM_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One try of one task instance to run."""

    run: RunInfo
    key: TIKey
    try_number: int
    max_tries: int
    reschedule_started_at_s: float | None = None
    #: a resumed try: how it resumes (deferral.Resume JSON), "" for a try that starts
    resume_json: str = ""


@dataclass(frozen=True, slots=True)
class ExecutionEnv:
    """What a try needs from the process running it."""

    xcoms: XComAccess
    log: LogFn
    xcom_max_bytes: int = DEFAULT_XCOM_MAX_BYTES
    run_launcher: Any = None
    #: given the rendered template fields once they are rendered (to be shown to people)
    on_rendered: Callable[[dict[str, Any]], None] | None = None
    #: a sync ``execute`` runs on this thread, ``execution_timeout`` by SIGALRM (a task
    #: process's main thread: main_thread.py); else in a thread (the worker's own loop)
    main_thread: bool = False
    #: where the try's closing lines wait for its end (sdk.context.log_closing); None: they
    #: are logged as any line
    closing: ClosingLines | None = None


def _resolve_expand_value(value: Any, ti: RuntimeTaskInstance) -> Any:
    if isinstance(value, XComArg):
        value = ti.pull_xcom_arg(value.operator.task_id, value.key)
    if isinstance(value, dict):
        return list(value.items())
    if not isinstance(value, list | tuple):
        raise AirflowException(f"expand() input must be a list or dict, got {type(value).__name__}")
    return list(value)


def materialize(node: DAGNode, ti: RuntimeTaskInstance) -> BaseOperator:
    """The operator to execute: a copy (rendering changes it), unmapped for a mapped task."""
    if not isinstance(node, MappedOperator):
        return shallow_copy(node)  # type: ignore[return-value]
    if node.expand_kwargs_input is not None:
        rows = _resolve_expand_value(node.expand_kwargs_input, ti)
        return node.unmap(rows, ti.map_index)
    resolved = {name: _resolve_expand_value(v, ti) for name, v in node.expand_input.items()}
    return node.unmap(resolved, ti.map_index)


def _uses_aexecute(task: BaseOperator) -> bool:
    """True when the class's ``aexecute`` is at least as specific as its ``execute``."""
    cls: type = type(task)
    return class_uses_aexecute(cls)


async def _hook(task: BaseOperator, name: str, main_thread: bool, *args: Any) -> None:
    """Run ``pre_execute``/``post_execute`` (skipped when neither the class nor the task sets
    one): on the task process's main thread with no event loop, as a sync ``execute`` runs
    there, else in a thread."""
    cls: type = type(task)
    if overrides_base(cls, name) or getattr(task, f"_{name}_hook", None) is not None:
        release_closing()
        if main_thread:
            call_with_alarm(None, getattr(task, name), *args)
        else:
            await asyncio.to_thread(getattr(task, name), *args)


async def _execute(task: BaseOperator, context: Context, timeout_s: float | None) -> Any:
    if _uses_aexecute(task):
        return await asyncio.wait_for(task.aexecute(context), timeout_s)  # type: ignore[attr-defined]
    if isinstance(task, PythonOperator) and task.is_async:
        return await asyncio.wait_for(task.aexecute_async_callable(context), timeout_s)
    return await asyncio.wait_for(asyncio.to_thread(task.execute, context), timeout_s)


def _is_sync(task: BaseOperator) -> bool:
    return not _uses_aexecute(task) and not (isinstance(task, PythonOperator) and task.is_async)


async def _execute_within(
    task: BaseOperator, context: Context, resume: Resume | None, main_thread: bool, log: LogFn
) -> Any:
    """The try's execute, as Airflow 3.1.8's task runner runs it: ``pre_execute``, the
    ``on_execute_callback``, ``execute`` alone within its ``execution_timeout`` (the operator's
    ``on_kill`` is called when it runs out), then ``post_execute``. A resumed try runs its
    method between the hooks (deferral.run_resumed) within the timeout."""
    timeout = task.execution_timeout
    timeout_s = timeout.total_seconds() if timeout else None
    if resume is not None:
        await _run_callbacks(task.on_execute_callback, context, log)
        return await _timed(
            task, log, asyncio.wait_for(run_resumed(task, resume, context), timeout_s)
        )
    on_main_thread = main_thread and _is_sync(task)
    await _hook(task, "pre_execute", on_main_thread, context)
    await _run_callbacks(task.on_execute_callback, context, log)
    if on_main_thread:
        result = await _timed(task, log, _alarmed(timeout_s, task, context))
    else:
        result = await _timed(task, log, _execute(task, context, timeout_s))
    await _hook(task, "post_execute", on_main_thread, context, result)
    return result


async def _alarmed(timeout_s: float | None, task: BaseOperator, context: Context) -> Any:
    return call_with_alarm(timeout_s, task.execute, context)


async def _timed(task: BaseOperator, log: LogFn, running: Awaitable[Any]) -> Any:
    """``running``'s result; when its execution_timeout ran out, the operator's ``on_kill``
    first (Airflow's task runner calls it before the timeout fails the try)."""
    started_s = time.monotonic()
    try:
        return await running
    except TimeoutError:
        timeout = task.execution_timeout
        if timeout is not None and time.monotonic() - started_s >= timeout.total_seconds():
            try:
                await asyncio.to_thread(task.on_kill)
            except Exception as err:
                log(f"on_kill failed: {err!r}")
        raise


def _push_result(task: BaseOperator, ti: RuntimeTaskInstance, result: Any) -> None:
    if not task.do_xcom_push or result is None:
        return
    if task.multiple_outputs:
        if not isinstance(result, dict) or not all(isinstance(k, str) for k in result):
            raise AirflowException(
                f"Returned output was type {type(result).__name__} expected dictionary with string "
                "keys for multiple_outputs"
            )
        for key, value in result.items():
            ti.xcom_push(key, value)
    ti.xcom_push(RETURN_VALUE_KEY, result)


def _validate_branches(dag: DAG, follow: Sequence[str]) -> None:
    groups = {g.group_id for g in dag.task_group.iter_groups()}
    invalid = sorted(set(follow) - set(dag.task_dict) - groups)
    if invalid:
        raise AirflowException(
            f"'branch_task_ids' must contain only valid task_ids. Invalid tasks found: {invalid}"
        )


async def _run_callbacks(callbacks: Any, context: Context, log: LogFn) -> None:
    if not callbacks:
        return
    release_closing()
    for callback in callbacks if isinstance(callbacks, list) else [callbacks]:
        try:
            if asyncio.iscoroutinefunction(callback):
                await callback(context)
            else:
                await asyncio.to_thread(callback, context)
        except Exception as err:
            log(f"callback {getattr(callback, '__name__', callback)!r} failed: {err!r}")


def _classify(
    err: BaseException, task: BaseOperator | None, elapsed_s: float
) -> tuple[TaskInstanceState, bool, str]:
    """(state, retryable, message) for an exception raised by a try."""
    if isinstance(err, AirflowSkipException):
        return TaskInstanceState.SKIPPED, False, str(err) or "skipped"
    if isinstance(err, AirflowSensorTimeout | AirflowFailException):
        return TaskInstanceState.FAILED, False, f"{type(err).__name__}: {err}"
    timeout = getattr(task, "execution_timeout", None)
    if isinstance(err, TimeoutError) and timeout and elapsed_s >= timeout.total_seconds():
        message = f"AirflowTaskTimeout: execution_timeout of {timeout.total_seconds():g}s exceeded"
        return TaskInstanceState.FAILED, True, message
    return TaskInstanceState.FAILED, True, f"{type(err).__name__}: {err}"


def _has_templates(value: Any) -> bool:
    """Whether rendering ``value`` may run a template or read an XCom (and so may wait on I/O)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value or value.endswith((".sh", ".bash", ".sql", ".json"))
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_templates(v) for v in value)
    if isinstance(value, dict):
        return any(_has_templates(v) for v in value.values())
    return value is not None and not isinstance(value, int | float | bool)


def needs_io_to_prepare(node: DAGNode) -> bool:
    """False when preparing ``node`` renders nothing and resolves no XComArg: no thread needed.

    Worked out once per loaded node (a worker's DAG cache keeps the node; tries copy it).
    """
    cached = node.__dict__.get("_airlane_needs_io")
    if cached is None:
        cached = (
            isinstance(node, MappedOperator)
            or overrides_rendering(node)
            or any(
                _has_templates(getattr(node, name, None))
                for name in node.template_fields  # type: ignore[attr-defined]
            )
        )
        node.__dict__["_airlane_needs_io"] = cached
    return bool(cached)


def _prepare(
    node: DAGNode, dag: DAG, request: TaskRequest, env: ExecutionEnv, ti: RuntimeTaskInstance
) -> tuple[BaseOperator, Context]:
    """The operator to run and its context, with templated fields rendered."""
    task = materialize(node, ti)
    ti.task = task
    context = build_context(task, dag, request.run, ti, run_launcher=env.run_launcher)
    with use_context(context, env.log):
        render_operator(task, context, dag)
    if env.on_rendered is not None and task.template_fields:
        env.on_rendered(redact(rendered_snapshot(task)))
    return task, context


def _rerecord_rendered(task: BaseOperator, env: ExecutionEnv) -> None:
    """Record the fields again once the try ran, for operators that set them while executing
    (``overwrite_rtif_after_execution``, as ``@task.sql``'s query), as Airflow's finalize."""
    if getattr(task, "overwrite_rtif_after_execution", False) and env.on_rendered is not None:
        env.on_rendered(rendered_snapshot(task))


async def execute_task(
    node: DAGNode, dag: DAG, request: TaskRequest, env: ExecutionEnv
) -> TaskOutcome:
    """Run one try and report how it ended. Never raises for errors of the task itself."""
    started_s = time.time()
    log = env.log
    capture_task_output()
    task_log.install()
    ti = RuntimeTaskInstance(
        dag=dag,
        task=node,
        run_id=request.run.run_id,
        map_index=request.key.map_index,
        try_number=request.try_number,
        max_tries=request.max_tries,
        logical_date=request.run.logical_date,
        xcoms=env.xcoms,
        xcom_max_bytes=env.xcom_max_bytes,
        sensor_started_at=(
            pendulum.from_timestamp(request.reschedule_started_at_s)
            if request.reschedule_started_at_s
            else None
        ),
        start_date=utc_from_timestamp(started_s),
    )
    task: BaseOperator | None = None
    context: Context | None = None
    resume = Resume.from_json(request.resume_json) if request.resume_json else None
    if resume is not None and resume.end_state() is not None:
        outcome = ended_by_trigger(resume, ti, request.try_number, started_s, log)
        await _end_callbacks(node, dag, request, env, ti, outcome.state)
        return outcome
    try:
        if resume is None and (request.try_number > 1 or request.reschedule_started_at_s):
            await _clear_earlier_xcoms(env, request)
        if getattr(env.xcoms, "blocking", False) and needs_io_to_prepare(node):
            # Reading XComs waits on the network: prepare in a thread, not on the event loop.
            ready_task, ready_context = await asyncio.to_thread(
                _prepare, node, dag, request, env, ti
            )
        else:
            ready_task, ready_context = _prepare(node, dag, request, env, ti)
        task, context = ready_task, ready_context
        with use_context(ready_context, log, env.closing):
            try:
                result = await _execute_within(
                    ready_task, ready_context, resume, env.main_thread, log
                )
            except Exception:
                await _name_instance(ti, ready_context, dag, failed=True)
                raise
            await _name_instance(ti, ready_context, dag, failed=False)
            if result is not None and ready_task.do_xcom_push and xcom_backend_class():
                # a custom backend's serialize_value may write to a store: not on the loop
                await asyncio.to_thread(_push_result, ready_task, ti, result)
            else:
                _push_result(ready_task, ti, result)
            await _push_extra_links(ready_task, ti, log)
            await _clear_state_on_success(ready_context)
            _rerecord_rendered(ready_task, env)
            if ti.follow is not None:
                _validate_branches(dag, ti.follow)
            await _run_callbacks(ready_task.on_success_callback, ready_context, log)
        return TaskOutcome(
            state=TaskInstanceState.SUCCESS,
            try_number=request.try_number,
            follow=ti.follow,
            short_circuit=ti.short_circuit_scope,
            started_at_s=started_s,
            xcom_lengths=tuple(sorted(ti.pushed_lengths.items())),
            rendered_map_index=ti.rendered_map_index,
            asset_events=emitted_asset_events(ready_context),
        )
    except TaskDeferred as err:
        await _push_extra_links(task or node, ti, log)
        return _deferred(err, task, request, started_s, log)
    except AirflowRescheduleException as err:
        await _push_extra_links(task or node, ti, log)
        log(f"Rescheduling: next poke at {err.reschedule_date.isoformat()}")
        return TaskOutcome(
            state=TaskInstanceState.UP_FOR_RESCHEDULE,
            try_number=request.try_number,
            reschedule_at_s=err.reschedule_date.timestamp(),
            started_at_s=started_s,
        )
    except Exception as err:
        state, retryable, message = _classify(err, task, time.time() - started_s)
        if state is TaskInstanceState.FAILED:
            log(task_failure_text(err, message))
        else:
            log(message)
        delay_s = None
        if state is TaskInstanceState.FAILED and retryable:
            policy = getattr(task if task is not None else node, "retry_policy", None)
            retryable, delay_s = await _ask_retry_policy(policy, err, request, context, log)
        if task is not None:
            _rerecord_rendered(task, env)
        if task is not None and context is not None:
            with use_context(context, log):
                await _after_failure(task, context, state, retryable, request, log, err)
        await _push_extra_links(task or node, ti, log)
        return TaskOutcome(
            state=state,
            try_number=request.try_number,
            retryable=retryable,
            error=mask_text(message),
            started_at_s=started_s,
            rendered_map_index=ti.rendered_map_index,
            retry_delay_s=delay_s,
        )


async def _clear_earlier_xcoms(env: ExecutionEnv, request: TaskRequest) -> None:
    """What the instance's earlier tries (or pokes) pushed goes before this one runs, each value
    purged by a custom XCom backend first, as Airflow clears them when a try starts (not when it
    resumes from a deferral). A first try has nothing to clear: XComs written for an instance
    before it ever ran (the REST API's POST) stay."""
    key = request.key
    purge = purge_with_backend()
    clear = functools.partial(
        env.xcoms.clear_instance, key.task_id, key.map_index, request.try_number, purge
    )
    if getattr(env.xcoms, "blocking", False):
        await asyncio.to_thread(clear)
    else:
        clear()


async def _clear_state_on_success(context: Context) -> None:
    """With ``[state_store] clear_on_success``, a success removes its instance's task state
    (Airflow clears it in the success transition)."""
    from airlane.sdk.configuration import conf

    if not conf.getboolean("state_store", "clear_on_success"):
        return
    store = context.get("task_state_store")
    if store is not None:
        await store.aclear()


async def _push_extra_links(task: Any, ti: RuntimeTaskInstance, log: LogFn) -> None:
    """Each of the operator's extra links as an XCom under its ``xcom_key``, whatever the try's
    end (Airflow 3's ``finalize``); ``get_link`` is user code: in a thread, and a link that
    fails is logged and left out."""
    for link in getattr(task, "operator_extra_links", ()) or ():
        try:
            url = await asyncio.to_thread(link.get_link, task, ti_key=ti)
            ti.xcom_push_stored(link.xcom_key, url)
        except Exception as err:
            name = getattr(link, "name", type(link).__name__)
            log(f"Failed to push an xcom for task operator extra link {name!r}: {err!r}")


async def _ask_retry_policy(
    policy: RetryPolicy | None,
    err: BaseException,
    request: TaskRequest,
    context: Context | None,
    log: LogFn,
) -> tuple[bool, float | None]:
    """(retryable, the retry's own delay) of a failed try, as the task's retry policy decides
    (Airflow 3.3's ``_handle_current_task_failed``): FAIL fails it now, RETRY may give its delay,
    DEFAULT (or no policy, or a policy that raised) leaves both to the task. Asked in a thread,
    as callbacks are: it is user code."""
    if policy is None:
        return True, None
    try:
        decision = await asyncio.to_thread(
            policy.evaluate, err, request.try_number, request.max_tries, context
        )
    except Exception as bad:
        log(f"Retry policy evaluation failed, falling back to default behaviour: {bad!r}")
        return True, None
    if decision.reason:
        log(f"Retry policy decision: action={decision.action.value} reason={decision.reason!r}")
    if decision.action is RetryAction.FAIL:
        return False, None
    if decision.action is RetryAction.RETRY and decision.retry_delay is not None:
        return True, decision.retry_delay.total_seconds()
    return True, None


def emitted_asset_events(context: Context) -> str | None:
    """The events a success records for the task's outlets (sdk/asset_events.py's
    ``OutletEventAccessors.emitted()``) as JSON; None when the context has no accessors."""
    accessors = context.get("outlet_events")
    emitted = getattr(accessors, "emitted", None)
    if emitted is None:
        return None
    events = emitted()
    return orjson.dumps(events, default=repr).decode() if events else "[]"


async def _name_instance(
    ti: RuntimeTaskInstance, context: Context, dag: DAG, *, failed: bool
) -> None:
    """Render the map_index_template after execute, as Airflow: after a failure a template
    error is ignored (it must not hide the task's own error), after a success it fails the try."""
    if context.get("map_index_template") is None:
        return
    release_closing()  # (its template may call user code)
    try:
        ti.rendered_map_index = await asyncio.to_thread(render_map_index, context, dag)
    except (jinja2.TemplateSyntaxError, jinja2.UndefinedError):
        if not failed:
            raise


async def _after_failure(
    task: BaseOperator,
    context: Context,
    state: TaskInstanceState,
    retryable: bool,
    request: TaskRequest,
    log: LogFn,
    error: BaseException,
) -> None:
    """The task's callbacks of a try that failed (or skipped), and its failure or retry email
    (``email_on_failure`` / ``email_on_retry``, service/execution/email_alerts.py)."""
    if state is TaskInstanceState.SKIPPED:
        await _run_callbacks(task.on_skipped_callback, context, log)
        return
    will_retry = is_eligible_to_retry(
        task.retries, request.try_number, request.max_tries, retryable
    )
    ti = context.get("ti")
    if ti is not None:  # (as Airflow's finalize, before the callbacks: they may read it)
        ti.state = "up_for_retry" if will_retry else "failed"
    callbacks = task.on_retry_callback if will_retry else task.on_failure_callback
    await _run_callbacks(callbacks, context, log)
    if wants_email(task, will_retry):  # (its notifier sends over the network: in a thread)
        await asyncio.to_thread(
            send_error_email, task, context, error, request.try_number, request.max_tries, log
        )


def _deferred(
    err: TaskDeferred,
    task: BaseOperator | None,
    request: TaskRequest,
    started_s: float,
    log: LogFn,
) -> TaskOutcome:
    """The try ends deferred, its trigger for the triggerer (or failed: it cannot travel)."""
    try:
        deferral = deferral_of(err, time.time(), task)
    except (TypeError, ValueError) as bad:
        message = f"TaskDeferred with a trigger that cannot be serialized: {bad}"
        log(message)
        return TaskOutcome(
            TaskInstanceState.FAILED, request.try_number, error=message, started_at_s=started_s
        )
    log(f"Pausing task as DEFERRED: trigger {deferral.classpath}, resumes in {err.method_name}")
    return TaskOutcome(
        state=TaskInstanceState.DEFERRED,
        try_number=request.try_number,
        started_at_s=started_s,
        deferral=deferral.to_json(),
    )


#: the callback Airflow 3.1.8 sends to the DAG processor for a task its trigger ended
#: (handle_event_submit for BaseTaskEndEvent: success and failed only)
_END_CALLBACKS = {
    TaskInstanceState.SUCCESS: "on_success_callback",
    TaskInstanceState.FAILED: "on_failure_callback",
}


async def _end_callbacks(
    node: DAGNode,
    dag: DAG,
    request: TaskRequest,
    env: ExecutionEnv,
    ti: RuntimeTaskInstance,
    state: TaskInstanceState,
) -> None:
    """Run the task's callback for the state its trigger ended it in, as Airflow does."""
    name = _END_CALLBACKS.get(state)
    if name is None or not getattr(node, name, None):
        return
    try:
        task, context = await asyncio.to_thread(_prepare, node, dag, request, env, ti)
    except Exception as err:
        env.log(f"the {name} could not run: {err!r}")
        return
    with use_context(context, env.log):
        await _run_callbacks(getattr(task, name), context, env.log)
