"""Airflow import paths of the current example DAGs (issue 15): the standard provider's
``airflow.providers.common.compat.sdk`` and the ``airflow.sdk`` modules they name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pendulum

import airlane.sdk
from airlane.dag_loader import airflow_compat
from airlane.sdk import exceptions, operators, timezone


def test_common_compat_sdk_gives_airlanes_objects() -> None:
    airflow_compat.install()
    from airflow.providers.common.compat import sdk as compat

    assert compat.TriggerRule is airlane.sdk.TriggerRule
    assert compat.Context is airlane.sdk.Context
    assert compat.AirflowSkipException is exceptions.AirflowSkipException
    assert compat.BaseBranchOperator is operators.python.BaseBranchOperator
    assert compat.timezone.datetime is timezone.datetime
    from airflow.sdk import timezone as sdk_timezone

    assert compat.timezone is sdk_timezone


def test_airflow_sdk_modules() -> None:
    airflow_compat.install()
    from airflow.sdk.definitions.context import Context
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
    from airflow.sdk.timezone import coerce_datetime, datetime

    assert AirflowSkipException is exceptions.AirflowSkipException
    assert AirflowFailException is exceptions.AirflowFailException
    assert Context is airlane.sdk.Context
    assert coerce_datetime is timezone.coerce_datetime
    assert datetime(2022, 1, 1) == pendulum.datetime(2022, 1, 1, tz="UTC")


def test_timezone_helpers_behave_as_airflows() -> None:
    assert timezone.datetime(2022, 1, 1).utcoffset() is not None
    assert timezone.parse("2022-01-01 10:00").isoformat() == "2022-01-01T10:00:00+00:00"
    naive = timezone.make_naive(pendulum.datetime(2022, 1, 1, 10, tz="Europe/Paris"))
    assert naive.isoformat() == "2022-01-01T09:00:00"
    aware = timezone.make_aware(naive)
    assert aware.isoformat() == "2022-01-01T09:00:00+00:00"
    assert timezone.convert_to_utc(naive) == aware
    assert timezone.is_naive(naive)
    assert timezone.is_localized(aware)


def _python(code: str, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


def test_installed_common_providers_stay_importable_beside_the_compat_shim(
    tmp_path: Path,
) -> None:
    """Provider wheels install ``airflow/providers/common/<name>/`` as namespaces too; the
    real ``common.compat`` needs the real Airflow, so the shim's ``compat.sdk`` is used."""
    common = tmp_path / "airflow" / "providers" / "common"
    (common / "sql").mkdir(parents=True)
    (common / "sql" / "__init__.py").write_text("NAME = 'common sql'\n")
    (common / "compat").mkdir()
    (common / "compat" / "__init__.py").write_text("raise ImportError('needs the real Airflow')\n")
    (common / "compat" / "sdk.py").write_text("raise ImportError('needs the real Airflow')\n")
    code = (
        "from airlane.dag_loader import airflow_compat\n"
        "airflow_compat.install()\n"
        "import airflow.providers.common.sql as sql\n"
        "from airflow.providers.common.compat.sdk import TriggerRule\n"
        "print(sql.NAME, TriggerRule.__module__)\n"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["common", "sql", "airlane.sdk.trigger_rule"]
