"""``airflow.providers_manager.ProvidersManager`` and ``airlane providers list`` read installed
providers from their ``apache_airflow_provider`` entry points (issue 16).

A fake provider distribution is put on PYTHONPATH of a fresh interpreter: its package lives in
the ``airflow`` namespace, as real provider wheels do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROVIDER_INFO = """
def get_provider_info():
    return {
        "package-name": "apache-airflow-providers-fakeprov",
        "name": "Fake",
        "connection-types": [
            {
                "hook-class-name": "airflow.providers.fakeprov.hooks.FakeHook",
                "connection-type": "fake",
                "ui-field-behaviour": {"hidden-fields": ["schema"]},
            },
            {
                "hook-class-name": "airflow.providers.fakeprov.hooks.Missing",
                "connection-type": "broken",
            },
        ],
        "dialects": [{"dialect-type": "fake", "dialect-class-name": "x.Dialect"}],
        "notifications": ["airflow.providers.fakeprov.hooks.FakeNotifier"],
        "config": {"fake": {"options": {"timeout": {"default": "3"}}}},
    }
"""

HOOKS = """
from airflow import __version__  # providers refuse to load below 2.11: the shim answers 3.1.8

class FakeHook:
    conn_type = "fake"
    conn_name_attr = "fake_conn_id"
    hook_name = "Fake"
    AIRFLOW_VERSION = __version__

    def test_connection(self):
        return True, "ok"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    package = tmp_path / "airflow" / "providers" / "fakeprov"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "get_provider_info.py").write_text(PROVIDER_INFO)
    (package / "hooks.py").write_text(HOOKS)
    dist_info = tmp_path / "apache_airflow_providers_fakeprov-1.2.3.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: apache-airflow-providers-fakeprov\nVersion: 1.2.3\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[apache_airflow_provider]\n"
        "provider_info=airflow.providers.fakeprov.get_provider_info:get_provider_info\n"
    )
    return tmp_path


def _run(args: list[str], site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, check=False
    )


def test_providers_manager_reads_entry_points_and_imports_hooks_lazily(site: Path) -> None:
    code = (
        "import sys\n"
        "from airlane.dag_loader import airflow_compat\n"
        "airflow_compat.install()\n"
        "from airflow.providers_manager import ProvidersManager\n"
        "pm = ProvidersManager()\n"
        "assert pm is ProvidersManager()\n"
        "info = pm.providers['apache-airflow-providers-fakeprov']\n"
        "print(info.version, info.data['name'])\n"
        "assert 'airflow.providers.fakeprov.hooks' not in sys.modules\n"
        "hook = pm.hooks['fake']\n"
        "print(hook.hook_class_name, hook.connection_id_attribute_name, hook.hook_name,"
        " hook.connection_type, hook.connection_testable)\n"
        "print(pm.hooks['broken'], pm.hooks['generic'].hook_name, 'fake' in pm.hooks)\n"
        "print(pm.dialects['fake'].provider_name)\n"
        "print(pm.field_behaviours['fake'])\n"
        "print([n.notification_class_name for n in pm.notification if 'fake' in n.package_name])\n"
        "print(dict(pm.provider_configs)['apache-airflow-providers-fakeprov'])\n"
        "from airflow.providers.fakeprov.hooks import FakeHook\n"
        "print(FakeHook.AIRFLOW_VERSION)\n"
    )
    result = _run(["-c", code], site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "1.2.3 Fake",
        "airflow.providers.fakeprov.hooks.FakeHook fake_conn_id Fake fake True",
        "None Generic True",
        "apache-airflow-providers-fakeprov",
        "{'hidden-fields': ['schema']}",
        "['airflow.providers.fakeprov.hooks.FakeNotifier']",
        "{'fake': {'options': {'timeout': {'default': '3'}}}}",
        "3.1.8",
    ]


def test_providers_list_shows_versions_hooks_and_connection_types(site: Path) -> None:
    result = _run(["-m", "airlane", "providers", "list", "--json"], site)
    assert result.returncode == 0, result.stderr
    providers = {p["package_name"]: p for p in json.loads(result.stdout)}
    assert providers["apache-airflow-providers-fakeprov"] == {
        "package_name": "apache-airflow-providers-fakeprov",
        "version": "1.2.3",
        "name": "Fake",
        "hooks": [
            {
                "connection_type": "broken",
                "hook_class_name": "airflow.providers.fakeprov.hooks.Missing",
            },
            {
                "connection_type": "fake",
                "hook_class_name": "airflow.providers.fakeprov.hooks.FakeHook",
            },
        ],
    }
    table = _run(["-m", "airlane", "providers", "list"], site)
    assert table.returncode == 0, table.stderr
    line = next(ln for ln in table.stdout.splitlines() if "fakeprov" in ln)
    assert line.split() == [
        "apache-airflow-providers-fakeprov",
        "1.2.3",
        "broken",
        "(Missing),",
        "fake",
        "(FakeHook)",
    ]


def test_an_installed_common_compat_wins_over_the_shims_stand_in(tmp_path: Path) -> None:
    compat = tmp_path / "airflow" / "providers" / "common" / "compat"
    compat.mkdir(parents=True)
    (compat / "__init__.py").write_text("from airflow import __version__\n")
    (compat / "sdk.py").write_text(
        "import importlib\n"
        "WHERE = 'installed'\n"
        "def __getattr__(name):\n"
        "    return getattr(importlib.import_module('airflow.sdk'), name)\n"
    )
    code = (
        "from airlane.dag_loader import airflow_compat\n"
        "airflow_compat.install()\n"
        "from airflow.providers.common.compat.sdk import WHERE, TriggerRule\n"
        "import airflow.providers.common.compat.sdk as sdk\n"
        f"print(WHERE, TriggerRule.__module__, sdk.__file__.startswith({str(tmp_path)!r}))\n"
    )
    result = _run(["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["installed", "airlane.sdk.trigger_rule", "True"]
