"""The import hook that Airlane's wheel installs (``airlane_airflow_hook.pth``, issue 15 item 3):
``import airflow`` works in any process of the environment, costs nothing in processes that never
import it, and steps aside when the real Airflow is importable.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

import _airlane_airflow_hook


def _python(
    code: str, *flags: str, pythonpath: Path | None = None, hook: str | None = None
) -> list[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("AIRLANE_AIRFLOW_HOOK", None)
    if hook is not None:
        env["AIRLANE_AIRFLOW_HOOK"] = hook
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_package_installs_the_pth_and_the_hook_module() -> None:
    files = {str(f) for f in importlib.metadata.files("airlane") or []}
    assert {"airlane_airflow_hook.pth", "_airlane_airflow_hook.py"} <= files


def test_a_process_that_never_imports_airflow_loads_no_airlane() -> None:
    code = (
        "import json, sys\n"
        "print(sorted(m for m in sys.modules if 'airlane' in m or m.startswith('airflow')))\n"
        "names = [getattr(f, '__name__', type(f).__name__) for f in sys.meta_path]\n"
        "print(names.index('AirflowImportHook') < names.index('PathFinder'))\n"
    )
    # Ahead of the path finder: a provider's namespace ``airflow`` on sys.path must not win.
    assert _python(code) == ["['_airlane_airflow_hook']", "True"]


def test_the_hook_module_imports_nothing_at_start() -> None:
    """What ``site`` pays for the ``.pth`` line: one module, no ``typing``, no ``importlib``."""
    folder = Path(_airlane_airflow_hook.__file__).parent
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import _airlane_airflow_hook\n"
        "_airlane_airflow_hook.install()\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    # -S: no site, so nothing else was imported before; -I would drop PYTHONPATH.
    assert _python(code, "-S", pythonpath=folder) == ["['_airlane_airflow_hook']"]


def test_importing_airflow_without_airflow_gives_airlanes_shim() -> None:
    code = (
        "from airflow import DAG\n"
        "from airflow.operators.bash import BashOperator\n"
        "from airlane.dag_loader import airflow_compat\n"
        "print(DAG.__module__, BashOperator.__module__)\n"
        "print(type(__import__('sys').meta_path[0]).__name__)\n"
        "print(airflow_compat.real_airflow_installed())\n"
    )
    assert _python(code) == [
        "airlane.sdk.dag airlane.sdk.operators.bash",
        "AirflowCompatFinder",
        "False",
    ]


def _fake_real_airflow(root: Path) -> Path:
    package = root / "airflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("REAL = True\n")
    (package / "models.py").write_text("KIND = 'real models'\n")
    return root


def test_the_hook_steps_aside_for_a_real_airflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import airflow, airflow.models\n"
        "print(airflow.REAL, airflow.models.KIND)\n"
        "print(sorted(m for m in sys.modules if m.startswith('airlane')))\n"
        "from airlane.dag_loader import airflow_compat\n"
        "print(airflow_compat.real_airflow_installed())\n"
    )
    lines = _python(code, pythonpath=_fake_real_airflow(tmp_path / "site"))
    assert lines == ["True real models", "[]", "True"]


def test_the_hook_keeps_installed_providers_importable(tmp_path: Path) -> None:
    """A provider wheel leaves a namespace ``airflow`` (no ``__init__.py``): not the real one."""
    provider = tmp_path / "site" / "airflow" / "providers" / "x"
    provider.mkdir(parents=True)
    (provider / "__init__.py").write_text("NAME = 'provider x'\n")
    code = (
        "import _airlane_airflow_hook\n"
        "print(_airlane_airflow_hook.real_airflow_on_path())\n"
        "from airflow import DAG\n"
        "from airflow.providers.x import NAME\n"
        "print(DAG.__module__, NAME)\n"
    )
    assert _python(code, pythonpath=tmp_path / "site") == [
        "False",
        "airlane.sdk.dag provider x",
    ]


@pytest.mark.parametrize("module", ["airflow", "airflow.sdk"])
def test_the_first_airflow_import_may_be_a_submodule(module: str) -> None:
    code = f"import {module}\nimport airflow\nprint(airflow.DAG.__module__)\n"
    assert _python(code) == ["airlane.sdk.dag"]


def test_the_hook_can_be_switched_off() -> None:
    """Off, ``import airflow`` finds what Python finds alone: nothing, or (provider packages
    installed, as make install-test does) their bare namespace, without ``DAG``."""
    code = (
        "import sys\n"
        "try:\n"
        "    import airflow\n"
        "    print('namespace', airflow.__file__, hasattr(airflow, 'DAG'))\n"
        "except ModuleNotFoundError as err:\n"
        "    print(err)\n"
        "print(sorted(m for m in sys.modules if m.startswith('airlane')))\n"
    )
    assert _python(code, hook="0") in (
        ["No module named 'airflow'", "[]"],
        ["namespace None False", "[]"],
    )
