"""The http provider, unmodified, under ``airlane dags test`` (issue 16).

The provider packages were installed by ``make install-test`` (``airlane providers install``);
nothing is installed here. The connection comes from AIRFLOW_CONN_HTTP_DEFAULT and points at a
local aiohttp server started by the test."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DAGS, TEST_DAGS, run_cli
from tests.http_server import HttpServer

HTTP_DAGS = TEST_DAGS / "providers_http"

#: what scripts/setup.sh installs for the tests
SETUP_PROVIDERS = (
    "http",
    "common-sql",
    "sqlite",
    "postgres",
    "smtp",
    "slack",
    "common-compat",
    "common-io",
)


@pytest.fixture
def server() -> Iterator[HttpServer]:
    http = HttpServer(not_ready_hits=2)
    http.start()
    yield http
    http.stop()


def test_http_operator_and_sensor_run_against_a_local_server(server: HttpServer) -> None:
    env = {"AIRFLOW_CONN_HTTP_DEFAULT": server.url}
    args = ["dags", "test", "http_example", "--dags-folder", str(HTTP_DAGS), "--json"]
    result = run_cli(*args, "--logical-date", "2024-03-04", env=env)
    assert result.code == 0, result.stderr[-3000:]
    data = result.json()
    assert data["state"] == "success"
    assert {task: info["state"] for task, info in data["tasks"].items()} == {
        "http_sensor_check": "success",
        "post_op": "success",
        "get_op": "success",
        "get_op_response_filter": "success",
        "put_op": "success",
        "check_responses": "success",
    }
    # the sensor poked through two 404s (allowed: poke() returns False) to the ready answer
    assert server.paths("GET").count("/ready") == 3
    assert "[http_sensor_check] INFO - Poking: ready" in result.stderr
    post = next(s for s in server.seen if s.path == "/post")
    assert (post.method, json.loads(post.body)) == ("POST", {"priority": 5})
    get = next(s for s in server.seen if s.path == "/get")
    assert get.query == {"param1": "value1", "ds": "2024-03-04"}  # data rendered, sent as query
    assert server.paths("PUT") == ["/put"]
    assert "Returned value was: 'value 2024-03-04'" in result.stderr


def test_a_failed_response_check_fails_the_task(server: HttpServer, tmp_path: Path) -> None:
    dag = tmp_path / "failing_check.py"
    dag.write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.providers.http.operators.http import HttpOperator\n"
        "with DAG('failing_check', start_date=datetime(2024, 1, 1), schedule=None):\n"
        "    HttpOperator(task_id='get', method='GET', endpoint='nested',\n"
        "                 response_check=lambda response: response.json() == {})\n"
    )
    env = {"AIRFLOW_CONN_HTTP_DEFAULT": server.url}
    result = run_cli("dags", "test", "failing_check", "--dags-folder", str(tmp_path), env=env)
    assert result.code == 1, result.stdout[-3000:]
    assert "AirflowException: Response check returned False." in result.stdout
    assert "get: failed (try 1)" in result.stdout


def test_setup_installed_the_providers_and_a_core_only_dag_still_runs() -> None:
    for name in SETUP_PROVIDERS:
        assert importlib.metadata.version(f"apache-airflow-providers-{name}")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("apache-airflow")
    result = run_cli("dags", "test", "simple_airflow_dag", "--dags-folder", str(EXAMPLE_DAGS))
    assert result.code == 0, result.stderr[-3000:]
    listed = run_cli("providers", "list", "--json")
    assert listed.code == 0, listed.stderr
    hooks = {h["connection_type"] for p in listed.json() for h in p["hooks"]}
    assert {"http", "sqlite", "postgres", "smtp", "slackwebhook"} <= hooks


PROVIDER_MODULES = (
    "airflow.providers.http.operators.http",
    "airflow.providers.http.sensors.http",
    "airflow.providers.http.hooks.http",
    "airflow.providers.http.notifications.http",
    "airflow.providers.common.sql.operators.sql",
    "airflow.providers.common.sql.hooks.sql",
    "airflow.providers.sqlite.hooks.sqlite",
    "airflow.providers.postgres.hooks.postgres",
    "airflow.providers.smtp.operators.smtp",
    "airflow.providers.smtp.notifications.smtp",
    "airflow.providers.slack.notifications.slack_webhook",
    "airflow.providers.slack.operators.slack_webhook",
)


def test_installed_provider_modules_import_under_the_shim() -> None:
    """Through the ``import airflow`` hook of a plain interpreter, as a DAG file would."""
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        "import airflow\n"
        "from airflow.providers.common.compat import sdk\n"
        "from airflow.providers_manager import ProvidersManager\n"
        "hook = ProvidersManager().hooks['http']\n"
        "print(airflow.__version__, sdk.__file__.endswith('compat/sdk.py'), hook.hook_class_name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AIRLANE_AIRFLOW_HOOK"}
    result = subprocess.run(
        [sys.executable, "-c", code, *PROVIDER_MODULES],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["3.1.8", "True", "airflow.providers.http.hooks.http.HttpHook"]


def test_install_refuses_names_that_are_not_providers() -> None:
    result = run_cli("providers", "install", "http", "apache-airflow>=3")
    assert result.code == 2
    assert "'apache-airflow>=3' is Airflow itself, which Airlane stands in for" in result.stderr
