"""PythonVirtualenvOperator, ExternalPythonOperator and their branch forms.

The callable runs in another interpreter (see ``airlane.sdk.virtualenv_call``): a virtualenv
made from ``requirements`` (``airlane.sdk.virtualenv_build``; cached by a hash of what makes
it, in ``venv_cache_path`` or else Airlane's venv cache), or the ``python`` of an existing
environment. Only the context values that the target can unpickle are offered to the callable,
as in Airflow: plain values always, pendulum datetimes when pendulum is there, Airlane's objects
(``params``, ``dag_run``...) when Airlane is there.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable, Collection, Container, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from airlane.sdk.context import Context, current_log
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.operators.python import PythonOperator, SkipMixin, determine_kwargs
from airlane.sdk.variable import Variable
from airlane.sdk.venv_access import access_env
from airlane.sdk.virtualenv_build import (
    VenvSpec,
    default_cache_dir,
    ensure_cached_venv,
    is_venv_installed,
)
from airlane.sdk.virtualenv_call import (
    SERIALIZERS,
    SubprocessCall,
    callable_source,
    run_in_subprocess,
)

__all__ = [
    "BranchExternalPythonOperator",
    "BranchPythonVirtualenvOperator",
    "ExternalPythonOperator",
    "PythonVirtualenvOperator",
    "is_venv_installed",
]

_THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
BASE_KEYS = frozenset(
    {
        *("ds", "ds_nodash", "expanded_ti_count", "inlets", "outlets", "run_id"),
        *("task_instance_key_str", "test_mode", "ts", "ts_nodash", "ts_nodash_with_tz"),
        *("next_ds", "next_ds_nodash", "prev_ds", "prev_ds_nodash", "tomorrow_ds"),
        *("tomorrow_ds_nodash", "yesterday_ds", "yesterday_ds_nodash", "task_reschedule_count"),
    }
)
PENDULUM_KEYS = frozenset(
    {
        *("data_interval_end", "data_interval_start", "logical_date"),
        *("prev_data_interval_end_success", "prev_data_interval_start_success"),
        *("prev_start_date_success", "prev_end_date_success", "execution_date"),
        *("next_execution_date", "prev_execution_date", "prev_execution_date_success"),
    }
)
AIRFLOW_KEYS = frozenset(
    {"macros", "conf", "dag", "dag_run", "task", "params", "triggering_asset_events"}
    | {"triggering_dataset_events"}
)


def _requirement_names(requirements: Iterable[str]) -> set[str]:
    names = set()
    for line in (part for req in requirements for part in str(req).splitlines()):
        text = re.sub(r"#.*$", "", line).strip()
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
        if match and not text.startswith("-"):
            names.add(match.group(0).lower().replace("_", "-"))
    return names


class _BasePythonVirtualenvOperator(PythonOperator):
    """Runs ``python_callable`` in the interpreter ``python_path()`` returns."""

    custom_operator_name: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        serializer: str | None = None,
        use_dill: bool = False,
        string_args: Iterable[str] | None = None,
        expect_airflow: bool = True,
        skip_on_exit_code: int | Container[int] | None = None,
        env_vars: dict[str, str] | None = None,
        inherit_env: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(python_callable, types.FunctionType) or (
            python_callable.__name__ == "<lambda>"
        ):
            raise ValueError(
                f"{type(self).__name__} only supports functions for python_callable arg"
            )
        if inspect.isgeneratorfunction(python_callable):
            raise ValueError(
                f"{type(self).__name__} does not support using 'yield' in python_callable"
            )
        super().__init__(python_callable=python_callable, **kwargs)
        self.string_args = list(string_args or [])
        serializer = serializer or ("dill" if use_dill else "pickle")
        if serializer not in SERIALIZERS:
            expected = ", ".join(map(repr, SERIALIZERS))
            raise AirflowException(
                f"Unsupported serializer {serializer!r}. Expected one of {expected}"
            )
        self.serializer = serializer
        self.use_dill = serializer == "dill"
        self.expect_airflow = expect_airflow
        if skip_on_exit_code is None:
            self.skip_on_exit_code: Container[int] = []
        elif isinstance(skip_on_exit_code, Container):
            self.skip_on_exit_code = skip_on_exit_code
        else:
            self.skip_on_exit_code = [skip_on_exit_code]
        self.env_vars = env_vars
        self.inherit_env = inherit_env

    def serializable_context_keys(self) -> frozenset[str]:
        raise NotImplementedError

    def python_path(self) -> Path:
        raise NotImplementedError

    @property
    def is_async(self) -> bool:
        return False

    def get_python_source(self) -> str:
        return callable_source(self.python_callable, self.custom_operator_name)

    def _call_kwargs(self, context: Context) -> dict[str, Any]:
        keys = self.serializable_context_keys()
        available: dict[str, Any] = {k: v for k, v in context.items() if k in keys}
        available["templates_dict"] = self.templates_dict
        kwargs = determine_kwargs(
            self.python_callable, self.op_args, {**available, **self.op_kwargs}
        )
        if self.templates_dict:
            kwargs["templates_dict"] = self.templates_dict
        return kwargs

    def _env(self, context: Context) -> dict[str, str]:
        if not self.inherit_env:  # as in Airflow, where the task's access is in the environment
            return dict(self.env_vars or {})
        return {**os.environ, **(self.env_vars or {}), **access_env(context.get("ti"))}

    def execute(self, context: Context) -> Any:
        log = current_log()
        kwargs = self._call_kwargs(context)
        call = SubprocessCall(
            python=self.python_path(),
            source=self.get_python_source(),
            name=self.python_callable.__name__,
            args=list(self.op_args),
            kwargs=kwargs,
            serializer=self.serializer,
            string_args=self.string_args,
            skip_on_exit_code=self.skip_on_exit_code,
            env=self._env(context),
        )
        result = run_in_subprocess(call, log)
        self.log_result(result)
        return result


_PROBE = (
    "import importlib.util as u\n"
    "print(' '.join(m for m in ('airlane', 'pendulum') if u.find_spec(m) is not None))"
)


def _target_modules(python: str | Path) -> set[str]:
    """Which of Airlane and pendulum the interpreter ``python`` can import (one quick probe:
    it looks them up without importing them)."""
    probe = subprocess.run(
        [os.fspath(python), "-c", _PROBE], capture_output=True, text=True, check=False
    )
    return set(probe.stdout.split()) if probe.returncode == 0 else set()


class PythonVirtualenvOperator(_BasePythonVirtualenvOperator):
    """Run a function in a virtualenv made from ``requirements`` (cached by their hash)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        *PythonOperator.template_fields,
        *("requirements", "index_urls", "venv_cache_path"),
    )
    template_ext: ClassVar[tuple[str, ...]] = (".txt",)

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        requirements: Iterable[str] | str | None = None,
        python_version: str | None = None,
        system_site_packages: bool = True,
        pip_install_options: list[str] | None = None,
        index_urls: Collection[str] | str | None = None,
        venv_cache_path: os.PathLike[str] | str | None = None,
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if python_version is not None and not isinstance(python_version, str):
            raise AirflowException(
                "Passing non-string types (e.g. int or float) as python_version not supported"
            )
        if (
            python_version
            and python_version[0] != str(sys.version_info.major)
            and (op_args or op_kwargs)
        ):
            raise AirflowException(
                "Passing op_args or op_kwargs is not supported across different Python major "
                "versions for PythonVirtualenvOperator. Please use string_args."
            )
        if not requirements:
            self.requirements: list[str] = []
        elif isinstance(requirements, str):
            self.requirements = [requirements]
        else:
            self.requirements = list(requirements)
        self.python_version = python_version
        self.system_site_packages = system_site_packages
        self.pip_install_options = pip_install_options
        self.index_urls = [index_urls] if isinstance(index_urls, str) else index_urls
        self.venv_cache_path = venv_cache_path
        super().__init__(
            python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs, **kwargs
        )

    def requirements_list(self) -> list[str]:
        """The requirements, plus the serializer's library when the venv cannot see ours."""
        requirements = [str(r) for r in self.requirements]
        serializer = self.serializer
        needed = not self.system_site_packages and serializer != "pickle"
        if needed and serializer not in requirements:
            requirements.append(serializer)
        return sorted(requirements)

    def venv_spec(self) -> VenvSpec:
        return VenvSpec(
            requirements=tuple(self.requirements_list()),
            python_version=self.python_version,
            system_site_packages=self.system_site_packages,
            pip_install_options=tuple(self.pip_install_options or ()),
            index_urls=tuple(self.index_urls) if self.index_urls is not None else None,
            cache_key=str(Variable.get("python_virtualenv_operator_cache_key", "")),
        )

    def python_path(self) -> Path:
        cache = Path(self.venv_cache_path) if self.venv_cache_path else default_cache_dir()
        return ensure_cached_venv(cache, self.venv_spec(), current_log())

    def serializable_context_keys(self) -> frozenset[str]:
        names = _requirement_names(self.requirements)
        same_python = self.python_version in (None, "", _THIS_PYTHON)
        if (self.system_site_packages and same_python) or "apache-airflow" in names:
            return BASE_KEYS | PENDULUM_KEYS | AIRFLOW_KEYS
        if "pendulum" in names or self.system_site_packages:
            return BASE_KEYS | PENDULUM_KEYS
        return BASE_KEYS


class ExternalPythonOperator(_BasePythonVirtualenvOperator):
    """Run a function with the interpreter of an existing environment, ``python``."""

    template_fields: ClassVar[tuple[str, ...]] = (*PythonOperator.template_fields, "python")

    def __init__(
        self,
        *,
        python: str,
        python_callable: Callable[..., Any],
        expect_pendulum: bool = False,
        **kwargs: Any,
    ) -> None:
        if not python:
            raise ValueError("Python Path must be defined in ExternalPythonOperator")
        self.python = python
        self.expect_pendulum = expect_pendulum
        super().__init__(python_callable=python_callable, **kwargs)

    def python_path(self) -> Path:
        path = Path(self.python)
        if not path.exists():
            raise ValueError(f"Python Path '{path}' must exists")
        if not path.is_file():
            raise ValueError(f"Python Path '{path}' must be a file")
        if not path.is_absolute():
            raise ValueError(f"Python Path '{path}' must be an absolute path.")
        return path

    def serializable_context_keys(self) -> frozenset[str]:
        found = _target_modules(self.python)
        if self.expect_airflow and "airlane" in found:
            return BASE_KEYS | PENDULUM_KEYS | AIRFLOW_KEYS
        if "pendulum" in found:
            return BASE_KEYS | PENDULUM_KEYS
        if self.expect_pendulum:
            current_log()(f"Pendulum is not installed for {self.python}: no datetime context keys")
        return BASE_KEYS


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator, SkipMixin):
    """The function, run in a virtualenv, returns the task id(s) to follow."""

    task_kind: ClassVar[str] = "branch"

    def execute(self, context: Context) -> Any:
        branches = super().execute(context)
        self.skip_all_except(context["ti"], branches)
        return branches


class BranchExternalPythonOperator(ExternalPythonOperator, SkipMixin):
    """The function, run by an external Python, returns the task id(s) to follow."""

    task_kind: ClassVar[str] = "branch"

    def execute(self, context: Context) -> Any:
        branches = super().execute(context)
        self.skip_all_except(context["ti"], branches)
        return branches


class _DecoratedVirtualenvOperator(PythonVirtualenvOperator):
    custom_operator_name: ClassVar[str | None] = "@task.virtualenv"
    infers_multiple_outputs: ClassVar[bool] = True


class _DecoratedExternalPythonOperator(ExternalPythonOperator):
    custom_operator_name: ClassVar[str | None] = "@task.external_python"
    infers_multiple_outputs: ClassVar[bool] = True


class _DecoratedBranchVirtualenvOperator(BranchPythonVirtualenvOperator):
    custom_operator_name: ClassVar[str | None] = "@task.branch_virtualenv"


class _DecoratedBranchExternalPythonOperator(BranchExternalPythonOperator):
    custom_operator_name: ClassVar[str | None] = "@task.branch_external_python"
