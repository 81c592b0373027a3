"""Sync task code on a task process's main thread: the event loop set aside, SIGALRM timeouts."""

from __future__ import annotations

import asyncio
import contextvars
import signal
import time
from datetime import timedelta

import pytest

from airlane import DAG, PythonOperator
from airlane.engine.run_state import TIKey
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution import main_thread
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.main_thread import call_with_alarm
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

TICK_S = 0.05


def _spin() -> None:
    while True:
        pass


def _swallow_errors() -> str:
    try:
        _spin()
    except Exception:
        return "swallowed"
    return "unreachable"


def _swallow_everything() -> str:
    try:
        _spin()
    except BaseException:  # the task's code may do this
        return "swallowed"
    return "unreachable"


def _convert() -> None:
    try:
        _spin()
    except BaseException as err:
        raise ValueError("the task's own") from err


@pytest.mark.parametrize("func", [_spin, _swallow_errors, _swallow_everything, _convert])
def test_the_alarm_ends_the_call_whatever_the_code_does_with_it(func: object) -> None:
    handler = signal.getsignal(signal.SIGALRM)
    outer_s = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout's, if any
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        call_with_alarm(TICK_S, func)  # type: ignore[arg-type]
    assert TICK_S <= time.monotonic() - started < 2
    assert signal.getsignal(signal.SIGALRM) is handler
    assert (signal.getitimer(signal.ITIMER_REAL)[0] > 0) == (outer_s > 0)


def test_a_call_within_its_timeout_returns_and_its_errors_are_its_own() -> None:
    assert call_with_alarm(5.0, lambda: 42) == 42
    with pytest.raises(KeyError):
        call_with_alarm(5.0, {}.__getitem__, "x")
    with pytest.raises(TimeoutError):
        call_with_alarm(0.0, lambda: 42)


def test_the_code_sees_no_running_loop_and_may_run_its_own() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outer")

    def task_code() -> tuple[bool, int]:
        var.set("inner")
        try:
            asyncio.get_running_loop()
            running = True
        except RuntimeError:
            running = False

        async def nested() -> int:
            return 7

        return running, asyncio.run(nested())

    async def try_on_the_loop() -> tuple[tuple[bool, int], asyncio.AbstractEventLoop]:
        return call_with_alarm(None, task_code), asyncio.get_running_loop()

    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        result, running_after = loop.run_until_complete(try_on_the_loop())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert result == (False, 7)
    assert running_after is loop
    assert var.get() == "outer"


def test_a_sync_try_on_the_main_thread_times_out_and_runs_its_retry_callback() -> None:
    seen: list[str] = []
    with DAG("d", schedule=None) as dag:
        op = PythonOperator(
            task_id="spin",
            python_callable=_swallow_errors,
            execution_timeout=timedelta(seconds=TICK_S),
            retries=1,
            on_retry_callback=lambda context: seen.append(context["ti"].task_id),
        )
    info = RunInfo("d", "run1", None, None, None, {})
    request = TaskRequest(info, TIKey("spin"), 1, 1)
    env = ExecutionEnv(xcoms=InMemoryXComs(), log=lambda line: None, main_thread=True)
    outcome = asyncio.run(execute_task(op, dag, request, env))
    assert outcome.state is TaskInstanceState.FAILED
    assert outcome.retryable
    assert (outcome.error or "").startswith("AirflowTaskTimeout: execution_timeout of 0.05s")
    assert seen == ["spin"]


def test_an_alarm_outside_the_task_code_interrupts_nothing() -> None:
    """Going off after the call returned (while the event loop is put back), the alarm is
    ignored: only the task's own code is interrupted."""
    timer = main_thread._Timer()
    timer._on_alarm(signal.SIGALRM, None)  # not armed: no raise
    assert not timer.fired

    def fire() -> None:
        timer._on_alarm(signal.SIGALRM, None)

    with pytest.raises(main_thread._Alarm):
        timer._guarded(fire)
    assert timer.fired
    assert not timer.armed
