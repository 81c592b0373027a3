"""Calling a function in another Python interpreter, as Airflow's virtualenv operators do.

The function's source (dedented, its task decorators removed) goes into a generated script that
the target interpreter runs with four file paths: the pickled ``{"args", "kwargs"}`` (written only
when there are any), the pickled return value, the ``string_args`` (one a line, read into the
global ``virtualenv_string_args``) and a termination log holding the message of an exception the
function raised. The serializer is ``pickle``, ``cloudpickle`` or ``dill``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from airlane.sdk.exceptions import AirflowException, AirflowSkipException
from airlane.sdk.venv_access import PREAMBLE
from airlane.sdk.virtualenv_build import Log, run_logged

SERIALIZERS = ("pickle", "cloudpickle", "dill")

#: decorators removed from the function's source, besides the task's own (``@task.virtualenv``)
_ALWAYS_REMOVED = frozenset({"setup", "teardown", "task.skip_if", "task.run_if"})


def serializer_module(name: str) -> ModuleType:
    """The library this process pickles with: ``name``'s, or the standard ``pickle`` when
    cloudpickle or dill is not installed here (both read pickle's format; the target
    interpreter still uses ``name``, so what the function returns must be plain pickle)."""
    if name not in SERIALIZERS:
        expected = ", ".join(map(repr, SERIALIZERS))
        raise AirflowException(f"Unsupported serializer {name!r}. Expected one of {expected}")
    try:
        return importlib.import_module(name)
    except ImportError:
        return importlib.import_module("pickle")


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        return _decorator_name(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def remove_task_decorator(source: str, task_decorator_name: str | None) -> str:
    """``source`` without its ``@task...``, ``@setup`` and ``@teardown`` decorator lines."""
    removed = set(_ALWAYS_REMOVED)
    if task_decorator_name:
        removed.add(task_decorator_name.strip("@"))
    tree = ast.parse(source)
    function = tree.body[0] if tree.body else None
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return source
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for decorator in function.decorator_list:
        if _decorator_name(decorator) in removed:
            end = decorator.end_lineno or decorator.lineno
            drop.update(range(decorator.lineno - 1, end))
    return "".join(line for index, line in enumerate(lines) if index not in drop)


def callable_source(function: Callable[..., Any], task_decorator_name: str | None) -> str:
    """The function's source, dedented, without the task decorators."""
    source = textwrap.dedent(inspect.getsource(function))
    return remove_task_decorator(source, task_decorator_name)


def render_script(source: str, name: str, serializer: str, has_arguments: bool) -> str:
    """The script the target interpreter runs (argv: input, output, string args, error log);
    its preamble gives the function the task's Variables and XComs where it can."""
    load = (
        f'with open(sys.argv[1], "rb") as _file:\n    _arguments = {serializer}.load(_file)\n'
        if has_arguments
        else '_arguments = {"args": [], "kwargs": {}}\n'
    )
    return (
        f"from __future__ import annotations\n\nimport {serializer}\nimport sys\n\n"
        f"{PREAMBLE}\n# Script\n{source}\n\n{load}\n"
        'with open(sys.argv[3], "r") as _file:\n'
        "    virtualenv_string_args = [line.strip() for line in _file]\n\n"
        f'try:\n    _result = {name}(*_arguments["args"], **_arguments["kwargs"])\n'
        "except Exception as _error:\n"
        '    with open(sys.argv[4], "w") as _file:\n'
        "        _file.write(str(_error))\n"
        "    raise\n\n"
        'with open(sys.argv[2], "wb") as _file:\n'
        "    if _result is not None:\n"
        f"        {serializer}.dump(_result, _file)\n"
    )


@dataclass(frozen=True)
class SubprocessCall:
    """One call of a function in the interpreter ``python``."""

    python: Path
    source: str
    name: str
    args: list[Any]
    kwargs: dict[str, Any]
    serializer: str = "pickle"
    string_args: Iterable[str] = ()
    skip_on_exit_code: Container[int] = ()
    env: dict[str, str] | None = None


def _write_arguments(call: SubprocessCall, path: Path) -> None:
    library = serializer_module(call.serializer)
    try:
        path.write_bytes(library.dumps({"args": call.args, "kwargs": call.kwargs}))
    except Exception:
        bad = [key for key, value in call.kwargs.items() if not _dumps_ok(library, value)]
        if bad:
            raise AirflowException(
                "Failed to serialize op_kwargs. The following keys contain objects that cannot "
                f"be pickled: {bad}."
            ) from None
        raise


def _dumps_ok(library: ModuleType, value: Any) -> bool:
    try:
        library.dumps(value)
    except Exception:
        return False
    return True


def run_in_subprocess(call: SubprocessCall, log: Log) -> Any:
    """Run the call; its return value, or AirflowSkipException / AirflowException."""
    with tempfile.TemporaryDirectory(prefix="venv-call") as tmp:
        folder = Path(tmp)
        paths = [folder / n for n in ("script.in", "script.out", "string_args.txt", "error.log")]
        has_arguments = bool(call.args or call.kwargs)
        if has_arguments:
            log(f"Use {call.serializer!r} as serializer.")
            _write_arguments(call, paths[0])
        paths[2].write_text("\n".join(map(str, call.string_args)))
        script = folder / "script.py"
        script.write_text(render_script(call.source, call.name, call.serializer, has_arguments))
        command = [os.fspath(call.python), os.fspath(script), *map(os.fspath, paths)]
        try:
            run_logged(command, log, env=call.env)
        except subprocess.CalledProcessError as err:
            if err.returncode in call.skip_on_exit_code:
                raise AirflowSkipException(
                    f"Process exited with code {err.returncode}. Skipping."
                ) from None
            error_log = paths[3]
            if error_log.exists() and error_log.stat().st_size > 0:
                message = f"Process returned non-zero exit status {err.returncode}.\n"
                raise AirflowException(message + error_log.read_text()) from None
            raise
        if 0 in call.skip_on_exit_code:
            raise AirflowSkipException("Process exited with code 0. Skipping.")
        if paths[1].stat().st_size == 0:
            return None
        return serializer_module(call.serializer).loads(paths[1].read_bytes())
