"""One task try through the task runner: templates, XCom rules, timeouts, callbacks, logs."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airlane import DAG, BashOperator, PythonOperator
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.node import DAGNode
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

S = TaskInstanceState
WHEN = pendulum.datetime(2024, 3, 5, 6, tz="UTC")


def run(
    node: DAGNode,
    *,
    xcoms: InMemoryXComs | None = None,
    conf: dict[str, Any] | None = None,
    max_bytes: int = 1024,
    try_number: int = 1,
    max_tries: int = 0,
) -> tuple[TaskOutcome, list[str], InMemoryXComs]:
    assert node.dag is not None
    lines: list[str] = []
    store = xcoms or InMemoryXComs()
    info = RunInfo("d", "run1", WHEN, WHEN, WHEN, conf or {})
    request = TaskRequest(info, TIKey(node.task_id), try_number, max_tries)
    env = ExecutionEnv(xcoms=store, log=lines.append, xcom_max_bytes=max_bytes)
    outcome = asyncio.run(execute_task(node, node.dag, request, env))
    return outcome, lines, store


def test_bash_renders_context_and_pushes_last_line() -> None:
    with DAG("d", schedule=None):
        op = BashOperator(
            task_id="b", bash_command="echo {{ ds }}; echo {{ run_id }}-{{ ti.try_number }}"
        )
    outcome, lines, store = run(op)
    assert outcome.state is S.SUCCESS
    assert lines == ["2024-03-05", "run1-1"]
    assert store.get("b", -1, "return_value") == "run1-1"


def test_conf_values_are_data_not_templates() -> None:
    with DAG("d", schedule=None):
        op = BashOperator(task_id="b", bash_command="echo '{{ dag_run.conf[\"x\"] }}'")
    outcome, lines, _ = run(op, conf={"x": "{{ 1 + 1 }}"})
    assert outcome.state is S.SUCCESS
    assert lines == ["{{ 1 + 1 }}"]


def test_undefined_template_variable_fails_and_names_it() -> None:
    with DAG("d", schedule=None):
        op = BashOperator(task_id="b", bash_command="echo {{ missing_thing }}")
    outcome, _, _ = run(op)
    assert outcome.state is S.FAILED
    assert "'missing_thing' is undefined" in (outcome.error or "")
    assert "bash_command" in (outcome.error or "")


def test_python_context_injection_and_printing_goes_to_the_log() -> None:
    def callable_(ds: str, params: dict[str, Any], extra: int) -> str:
        print("inside the callable")
        return f"{ds}:{params['p']}:{extra}"

    with DAG("d", schedule=None, params={"p": 1}):
        op = PythonOperator(task_id="p", python_callable=callable_, op_kwargs={"extra": 7})
    outcome, lines, store = run(op, conf={"p": 2})
    assert outcome.state is S.SUCCESS, lines
    assert "inside the callable" in lines
    assert store.get("p", -1, "return_value") == "2024-03-05:2:7"


def test_async_callable_runs_on_the_loop() -> None:
    async def coro() -> int:
        await asyncio.sleep(0)
        return 5

    with DAG("d", schedule=None):
        op = PythonOperator(task_id="a", python_callable=coro)
    outcome, _, store = run(op)
    assert outcome.state is S.SUCCESS
    assert store.get("a", -1, "return_value") == 5


def test_xcom_must_be_serializable_and_within_the_size_limit() -> None:
    with DAG("d", schedule=None):
        big = PythonOperator(task_id="big", python_callable=lambda: "x" * 5000)
        odd = PythonOperator(task_id="odd", python_callable=lambda: object())
        listing = PythonOperator(task_id="listing", python_callable=lambda: [1, 2, 3])
    outcome, _, _ = run(big, max_bytes=1000)
    assert outcome.state is S.FAILED
    assert "over the limit of 1000 bytes" in (outcome.error or "")
    outcome, _, _ = run(odd)
    assert "cannot be serialized: Cannot serialize object of type" in (outcome.error or "")
    outcome, _, _ = run(listing)
    assert outcome.xcom_lengths == (("return_value", 3),)


def test_multiple_outputs_requires_a_dict() -> None:
    with DAG("d", schedule=None):
        op = PythonOperator(task_id="m", python_callable=lambda: [1], multiple_outputs=True)
    outcome, _, _ = run(op)
    assert "expected dictionary" in (outcome.error or "")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_execution_timeout_kills_the_whole_bash_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    command = f"sleep 300 & echo $! >> {pids}; (sleep 300; true) & echo $! >> {pids}; sleep 300"
    with DAG("d", schedule=None):
        op = BashOperator(
            task_id="slow", bash_command=command, execution_timeout=timedelta(seconds=1)
        )
    started = time.monotonic()
    outcome, _, _ = run(op)
    assert time.monotonic() - started < 10
    assert outcome.state is S.FAILED
    assert outcome.retryable
    assert "execution_timeout" in (outcome.error or "")
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in children)


def test_callbacks_see_the_context_and_retry_versus_failure() -> None:
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("x")

    with DAG("d", schedule=None):
        op = PythonOperator(
            task_id="c",
            python_callable=boom,
            retries=1,
            on_retry_callback=lambda ctx: seen.append(f"retry {ctx['ti'].try_number}"),
            on_failure_callback=lambda ctx: seen.append(f"failure {ctx['ti'].try_number}"),
        )
    run(op, try_number=1, max_tries=1)
    run(op, try_number=2, max_tries=1)
    assert seen == ["retry 1", "failure 2"]


def test_bash_cwd_and_env() -> None:
    with DAG("d", schedule=None):
        op = BashOperator(
            task_id="e",
            bash_command="echo $FOO $AIRFLOW_CTX_TASK_ID; pwd",
            env={"FOO": "bar"},
            cwd="/tmp",
        )
        bad = BashOperator(task_id="bad", bash_command="true", cwd="/no/such/dir")
    outcome, lines, _ = run(op)
    assert outcome.state is S.SUCCESS
    assert lines == ["bar e", "/tmp"]
    outcome, _, _ = run(bad)
    assert "Can not find the cwd" in (outcome.error or "")


@pytest.mark.parametrize(("code", "state"), [(0, S.SUCCESS), (99, S.SKIPPED), (2, S.FAILED)])
def test_bash_exit_codes(code: int, state: TaskInstanceState) -> None:
    with DAG("d", schedule=None):
        op = BashOperator(task_id="x", bash_command=f"exit {code}")
    assert run(op)[0].state is state


def test_variables_and_macros_in_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_TARGET", "warehouse")
    monkeypatch.setenv("AIRLANE_VAR_CFG", '{"n": 3}')
    command = (
        "echo {{ var.value.target }} {{ var.json.cfg.n }} "
        "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }} {{ ts_nodash }}"
    )
    with DAG("d", schedule=None):
        op = BashOperator(task_id="v", bash_command=command)
    outcome, lines, _ = run(op)
    assert outcome.state is S.SUCCESS, lines
    assert lines == ["warehouse 3 05/03/2024 20240305T060000"]


def test_time_delta_sensor_waits_past_the_interval_end() -> None:
    from airlane import TimeDeltaSensor

    with DAG("d", schedule=None):
        past = TimeDeltaSensor(task_id="past", delta=timedelta(seconds=1), poke_interval=0.01)
        future = TimeDeltaSensor(
            task_id="future", delta=timedelta(days=3650), poke_interval=0.05, timeout=0.2
        )
    assert run(past)[0].state is S.SUCCESS
    outcome = run(future)[0]
    assert outcome.state is S.FAILED
    assert not outcome.retryable
    assert "timed out" in (outcome.error or "")


class _Hooked(PythonOperator):
    """Records the order Airflow 3.1.8's task runner calls a try's parts in."""

    seen: list[str] = []

    def pre_execute(self, context: Any) -> None:
        self.seen.append("pre_execute")
        time.sleep(0.3)  # longer than the execution_timeout: outside it, as in Airflow

    def post_execute(self, context: Any, result: Any = None) -> None:
        self.seen.append(f"post_execute {result}")
        time.sleep(0.3)

    def on_kill(self) -> None:
        self.seen.append("on_kill")


def test_execution_timeout_times_execute_alone_after_pre_execute_and_the_callback() -> None:
    _Hooked.seen = []
    with DAG("d", schedule=None):
        op = _Hooked(
            task_id="hooked",
            python_callable=lambda: "done",
            execution_timeout=timedelta(seconds=0.2),
            on_execute_callback=lambda ctx: _Hooked.seen.append("on_execute_callback"),
        )
    outcome, _, _ = run(op)
    assert outcome.state is S.SUCCESS, outcome.error
    assert _Hooked.seen == ["pre_execute", "on_execute_callback", "post_execute done"]


def test_a_try_that_runs_out_of_time_has_its_on_kill_called() -> None:
    _Hooked.seen = []
    with DAG("d", schedule=None):
        op = _Hooked(
            task_id="slow",
            python_callable=lambda: time.sleep(1),
            execution_timeout=timedelta(seconds=0.2),
        )
    outcome, _, _ = run(op)
    assert outcome.state is S.FAILED
    assert "execution_timeout" in (outcome.error or "")
    assert _Hooked.seen == ["pre_execute", "on_kill"]
