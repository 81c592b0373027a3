"""A provider package installed next to Airlane must not break core DAGs (issue 13, item 2).

Provider wheels install ``site-packages/airflow/`` as a namespace package (no ``__init__.py``);
the shim must stay active with such a namespace on the path, keep the installed providers
importable under its ``airflow`` package, and step aside only for the real Airflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DAGS, run_cli


def _provider_tree(root: Path) -> Path:
    """What ``pip install --no-deps apache-airflow-providers-x`` leaves: no ``airflow/__init__.py``
    and no ``airflow/providers/__init__.py``, only the provider's own package."""
    package = root / "airflow" / "providers" / "x"
    (package / "hooks").mkdir(parents=True)
    (package / "__init__.py").write_text("NAME = 'provider x'\n")
    (package / "hooks" / "__init__.py").write_text("")
    (package / "hooks" / "thing.py").write_text("class ThingHook:\n    pass\n")
    return root


def _python(code: str, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def provider_path(tmp_path: Path) -> Path:
    return _provider_tree(tmp_path / "site")


def test_dags_list_and_test_work_with_a_provider_namespace(provider_path: Path) -> None:
    env = {"PYTHONPATH": str(provider_path)}
    listed = run_cli("dags", "list", "--dags-folder", str(EXAMPLE_DAGS), "--json", env=env)
    assert listed.code == 0, listed.stderr
    assert "import error" not in listed.stderr
    assert "simple_airflow_dag" in [row["dag_id"] for row in listed.json()]

    tested = run_cli(
        "dags", "test", "simple_airflow_dag", "--dags-folder", str(EXAMPLE_DAGS), "--json", env=env
    )
    assert tested.code == 0, tested.stderr
    assert tested.json()["state"] == "success"


def test_installed_providers_stay_importable_under_the_shim(provider_path: Path) -> None:
    code = (
        "from airlane.dag_loader import airflow_compat\n"
        "airflow_compat.install()\n"
        "assert not airflow_compat.real_airflow_installed()\n"
        "from airflow import DAG\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "import airflow.providers.x\n"
        "from airflow.providers.x.hooks.thing import ThingHook\n"
        "print(DAG.__module__, BashOperator.__module__, airflow.providers.x.NAME)\n"
        "try:\n"
        "    import airflow.providers.missing\n"
        "except ModuleNotFoundError as err:\n"
        "    print(err)\n"
    )
    result = _python(code, provider_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "airlane.sdk.dag airlane.sdk.operators.bash provider x"
    assert "No module named 'airflow.providers.missing': Airlane provides" in lines[1]


def test_the_shim_steps_aside_for_the_real_airflow(tmp_path: Path) -> None:
    real = tmp_path / "real" / "airflow"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    code = (
        "from airlane.dag_loader import airflow_compat\n"
        "assert airflow_compat.real_airflow_installed()\n"
        "airflow_compat.install()\n"
        "import airflow\n"
        "print(airflow.REAL)\n"
    )
    result = _python(code, tmp_path / "real")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
