"""What a failed try logs: the user's frames whole, Airlane's and asyncio's machinery trimmed."""

from __future__ import annotations

import asyncio

import pendulum

from airlane import DAG, BashOperator, PythonOperator
from airlane.engine.run_state import TIKey
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.node import DAGNode
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task
from airlane.service.execution.tracebacks import INTERNAL_PREFIXES, task_failure_text

WHEN = pendulum.datetime(2024, 3, 5, 6, tz="UTC")


def failure_log(node: DAGNode) -> list[str]:
    assert node.dag is not None
    lines: list[str] = []
    request = TaskRequest(RunInfo("d", "r", WHEN, WHEN, WHEN, {}), TIKey(node.task_id), 1, 0)
    env = ExecutionEnv(xcoms=InMemoryXComs(), log=lines.append, xcom_max_bytes=1024)
    asyncio.run(execute_task(node, node.dag, request, env))
    return "\n".join(lines).splitlines()


def parse_config(text: str) -> int:
    return int(text)


def load() -> int:
    return parse_config("not a number")


def test_a_python_task_logs_its_own_frames_and_none_of_the_runners() -> None:
    with DAG("d", schedule=None):
        op = PythonOperator(task_id="p", python_callable=load)
    lines = failure_log(op)
    frames = [line.strip() for line in lines if line.strip().startswith("File ")]
    assert lines[0] == "Traceback (most recent call last):"
    assert [f.rsplit(" in ", 1)[1] for f in frames] == ["load", "parse_config"]
    assert all(__file__ in f for f in frames)
    assert lines[-1] == "ValueError: invalid literal for int() with base 10: 'not a number'"
    text = "\n".join(lines)
    assert "task_runner.py" not in text
    assert "asyncio" not in text


def chained() -> None:
    try:
        {}["key"]
    except KeyError as err:
        raise RuntimeError("no key") from err


def test_chained_exceptions_keep_the_users_frames_of_each() -> None:
    with DAG("d", schedule=None):
        op = PythonOperator(task_id="p", python_callable=chained)
    text = "\n".join(failure_log(op))
    assert "KeyError: 'key'" in text
    assert "The above exception was the direct cause" in text
    assert text.count(", in chained") == 2
    assert text.endswith("RuntimeError: no key")
    assert "task_runner.py" not in text


def test_user_code_calling_into_airlane_keeps_those_frames() -> None:
    def parses_a_date() -> None:
        from airlane.sdk.timezone import coerce_datetime

        coerce_datetime("not a date")

    with DAG("d", schedule=None):
        op = PythonOperator(task_id="p", python_callable=parses_a_date)
    frames = [line for line in failure_log(op) if line.strip().startswith("File ")]
    assert "parses_a_date" in frames[0]
    assert any("airlane" in f and "timezone.py" in f for f in frames[1:])


def test_a_bash_exit_code_is_one_line() -> None:
    with DAG("d", schedule=None):
        op = BashOperator(task_id="b", bash_command="echo before; exit 3")
    assert failure_log(op) == [
        "before",
        "AirflowException: Bash command failed. The command returned a non-zero exit code 3.",
    ]


def raise_it(err: BaseException) -> None:
    raise err


def caught(err: BaseException) -> BaseException:
    try:
        raise_it(err)
    except BaseException as raised:
        return raised
    raise AssertionError("not raised")


# This file's frames count as machinery: an exception raised with no user frame at all.
AS_INTERNAL = (*INTERNAL_PREFIXES, __file__)


def test_an_airflow_exception_without_user_frames_is_its_message() -> None:
    err = caught(AirflowException("sensor gave up"))
    message = "AirflowException: sensor gave up"
    assert task_failure_text(err, message, AS_INTERNAL) == message
    timeout = caught(TimeoutError())
    limit = "AirflowTaskTimeout: execution_timeout of 2s exceeded"
    assert task_failure_text(timeout, limit, AS_INTERNAL) == limit


def test_an_airlane_bug_keeps_its_whole_traceback() -> None:
    err = caught(TypeError("bad internal call"))
    text = task_failure_text(err, "TypeError: bad internal call", AS_INTERNAL)
    assert text.startswith("Traceback (most recent call last):")
    assert "in caught" in text
    assert "in raise_it" in text
    assert text.endswith("TypeError: bad internal call")
