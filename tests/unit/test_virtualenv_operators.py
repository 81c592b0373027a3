"""PythonVirtualenvOperator, ExternalPythonOperator, their branch forms and TaskFlow decorators
(issue 15): the callable runs in another interpreter, from its source; the venv is built from the
requirements once and cached. Offline: the only requirement is a project made in tmp_path."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from airlane import DAG, EmptyOperator, task
from airlane.dag_loader import airflow_compat
from airlane.engine.run_state import TaskOutcome, TIKey, TIState
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.node import DAGNode
from airlane.sdk.operators.python_virtualenv import (
    BranchExternalPythonOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from airlane.sdk.virtualenv_build import MARKER_NAME, VenvSpec, ensure_cached_venv
from airlane.sdk.virtualenv_call import remove_task_decorator
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task
from tests.venv_packages import make_local_project

PACKAGE = "airlane_venv_only_pkg"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_local_project(tmp_path_factory.mktemp("project"), PACKAGE, "VALUE = 42\n")


def _run(node: DAGNode, xcoms: InMemoryXComs | None = None) -> tuple[TaskOutcome, list[str]]:
    assert node.dag is not None
    import pendulum

    when = pendulum.datetime(2025, 1, 1, tz="UTC")
    lines: list[str] = []
    info = RunInfo(node.dag.dag_id, "run1", when, when, when, {})
    env = ExecutionEnv(xcoms=xcoms or InMemoryXComs(), log=lines.append)
    request = TaskRequest(info, TIKey(node.task_id), 1, 0)
    return asyncio.run(execute_task(node, node.dag, request, env)), lines


def use_the_package(offset: int, ds: str | None = None) -> int:
    import airlane_venv_only_pkg  # type: ignore[import-not-found]

    assert ds == "2025-01-01"
    return int(airlane_venv_only_pkg.VALUE) + offset


def test_a_venv_task_imports_a_package_only_its_venv_has_and_the_venv_is_cached(
    project: Path, tmp_path: Path
) -> None:
    assert importlib.util.find_spec(PACKAGE) is None
    with DAG("venv", schedule=None):
        op = PythonVirtualenvOperator(
            task_id="v",
            python_callable=use_the_package,
            op_kwargs={"offset": 1},
            requirements=[str(project)],
            pip_install_options=["--no-index"],
            system_site_packages=False,
            venv_cache_path=str(tmp_path),
        )
    xcoms = InMemoryXComs()
    outcome, lines = _run(op, xcoms)
    assert outcome.state == TIState.SUCCESS, "\n".join(lines)
    assert xcoms.values[("v", -1, "return_value")] == 43
    (venv,) = tmp_path.glob("venv-*/")
    marker_mtime_ns = (venv / MARKER_NAME).stat().st_mtime_ns

    outcome, lines = _run(op, InMemoryXComs())
    assert outcome.state == TIState.SUCCESS, "\n".join(lines)
    assert any("Reusing cached Python virtual environment" in line for line in lines)
    assert (venv / MARKER_NAME).stat().st_mtime_ns == marker_mtime_ns
    assert not any("New Python virtual environment" in line for line in lines)


def test_external_python_runs_the_function_with_another_environments_python(
    project: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    subprocess.run([*pip, "-q", "--no-index", str(project)], check=True)

    with DAG("ext", schedule=None):

        @task.external_python(python=str(venv / "bin" / "python"))
        def total(x: int) -> dict[str, Any]:
            import sys

            import airlane_venv_only_pkg

            return {"sum": x + airlane_venv_only_pkg.VALUE, "python": sys.executable}

        result = total(1)
    xcoms = InMemoryXComs()
    outcome, lines = _run(result.operator, xcoms)
    assert outcome.state == TIState.SUCCESS, "\n".join(lines)
    assert xcoms.values[("total", -1, "sum")] == 43  # multiple_outputs from the annotation
    assert xcoms.values[("total", -1, "python")] == str(venv / "bin" / "python")


def test_branch_virtualenv_follows_the_returned_task(tmp_path: Path) -> None:
    with DAG("branch", schedule=None):

        @task.branch_virtualenv(venv_cache_path=str(tmp_path))
        def choose(ds: str | None = None) -> str:
            return "left" if ds == "2025-01-01" else "right"

        chosen = choose()
        chosen >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
    outcome, lines = _run(chosen.operator)
    assert outcome.state == TIState.SUCCESS, "\n".join(lines)
    assert outcome.follow == ("left",)


def pick(choices: list[str]) -> str:
    return choices[-1]


def test_branch_external_python_follows_the_returned_task() -> None:
    with DAG("branch_ext", schedule=None):
        op = BranchExternalPythonOperator(
            task_id="choose", python=sys.executable, python_callable=pick, op_args=[["a", "b"]]
        )
        op >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    assert _run(op)[0].follow == ("b",)


def exit_with(code: int) -> None:
    import sys

    sys.exit(code)


def fail() -> None:
    raise ValueError("boom from the venv")


def read_string_args() -> list[str]:
    return list(globals()["virtualenv_string_args"])


@pytest.mark.parametrize(
    ("callable_", "kwargs", "state", "message"),
    [
        (exit_with, {"op_args": [99], "skip_on_exit_code": 99}, TIState.SKIPPED, "code 99"),
        (exit_with, {"op_args": [99]}, TIState.FAILED, "exit status 99"),
        (exit_with, {"op_args": [3], "skip_on_exit_code": [3, 4]}, TIState.SKIPPED, "code 3"),
        (fail, {}, TIState.FAILED, "boom from the venv"),
    ],
)
def test_exit_codes_skip_or_fail(
    callable_: Any, kwargs: dict[str, Any], state: TIState, message: str
) -> None:
    with DAG("codes", schedule=None):
        op = ExternalPythonOperator(
            task_id="t", python=sys.executable, python_callable=callable_, **kwargs
        )
    outcome, lines = _run(op)
    assert outcome.state == state, "\n".join(lines)
    assert message in (outcome.error or "") + "\n".join(lines)


def test_string_args_are_the_global_virtualenv_string_args() -> None:
    with DAG("strings", schedule=None):
        op = ExternalPythonOperator(
            task_id="t",
            python=sys.executable,
            python_callable=read_string_args,
            string_args=["a", "b c"],
        )
    xcoms = InMemoryXComs()
    assert _run(op, xcoms)[0].state == TIState.SUCCESS
    assert xcoms.values[("t", -1, "return_value")] == ["a", "b c"]


def test_two_concurrent_builds_of_one_venv_build_it_once(tmp_path: Path) -> None:
    spec = VenvSpec(requirements=(), system_site_packages=False)
    logs: list[list[str]] = [[], []]
    threads = [
        threading.Thread(target=ensure_cached_venv, args=(tmp_path, spec, log.append))
        for log in logs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    built = [log for log in logs if any("New Python virtual environment" in x for x in log)]
    reused = [log for log in logs if any("Reusing cached" in x for x in log)]
    assert (len(built), len(reused)) == (1, 1)


def test_task_decorators_are_removed_from_the_source() -> None:
    source = (
        "@setup\n@task.virtualenv(\n    requirements=['x'],\n)\n@other.decorator\n"
        "def f():\n    return 1\n"
    )
    assert remove_task_decorator(source, "@task.virtualenv") == (
        "@other.decorator\ndef f():\n    return 1\n"
    )


def test_refusals_at_definition() -> None:
    with DAG("refuse", schedule=None):
        with pytest.raises(ValueError, match="only supports functions"):
            PythonVirtualenvOperator(task_id="a", python_callable=lambda: 1)
        with pytest.raises(AirflowException, match="Unsupported serializer 'json'"):
            PythonVirtualenvOperator(task_id="b", python_callable=pick, serializer="json")
        with pytest.raises(ValueError, match="Python Path must be defined"):
            ExternalPythonOperator(task_id="c", python="", python_callable=pick)
        with pytest.raises(AirflowException, match="across different Python major versions"):
            PythonVirtualenvOperator(
                task_id="d", python_callable=pick, python_version="2.7", op_args=[["a"]]
            )
        with pytest.raises(AirflowException, match="non-string types"):
            PythonVirtualenvOperator(task_id="e", python_callable=pick, python_version=3.11)


def test_the_airflow_import_paths() -> None:
    airflow_compat.install()
    from airflow.decorators import task as airflow2_task
    from airflow.operators.python import (
        BranchExternalPythonOperator as Airflow2BranchExternal,
    )
    from airflow.operators.python import is_venv_installed
    from airflow.providers.standard.operators.python import (
        BranchPythonVirtualenvOperator,
    )
    from airflow.providers.standard.operators.python import (
        PythonVirtualenvOperator as Provider,
    )
    from airflow.sdk import task as sdk_task

    assert Provider is PythonVirtualenvOperator
    assert Airflow2BranchExternal is BranchExternalPythonOperator
    assert issubclass(BranchPythonVirtualenvOperator, PythonVirtualenvOperator)
    assert is_venv_installed()
    for namespace in (sdk_task, airflow2_task):
        for name in ("virtualenv", "external_python", "branch_virtualenv"):
            assert callable(getattr(namespace, name))
        assert callable(namespace.branch_external_python)
