"""Airflow's remote CLI (``airflowctl``, apache-airflow-ctl 0.1.5) against Airlane's API: it
signs in with a username and password and each command group answers with the API's data.

One cluster (DAG processor, coordinator, a worker, a triggerer and the API, with a plugins
folder holding one plugin and one broken file, and the configuration exposed) and one
signed-in ``airflowctl`` serve the whole module."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from tests.conftest import TEST_DAGS
from tests.integration.airflowctl import Airflowctl, CtlResult, ctl_cluster
from tests.integration.cluster import Api, RedisServer, wait_until

PLUGINS = TEST_DAGS / "plugin_timetables"
JOB_TYPES = {"SchedulerJob", "DagProcessorJob", "WorkerJob", "TriggererJob"}

pytestmark = pytest.mark.timeout(120)


@dataclass(frozen=True)
class Setup:
    api: Api
    ctl: Airflowctl
    token: str


@pytest.fixture(scope="module")
def setup(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("airflowctl")
    shutil.copytree(TEST_DAGS / "api", work / "dags")
    plugins = work / "plugins"
    plugins.mkdir()
    shutil.copy(PLUGINS / "plugins" / "weekdays.py", plugins)
    shutil.copy(PLUGINS / "broken_plugins" / "broken_timetable.py", plugins)
    env = {"AIRLANE_PLUGINS_FOLDER": str(plugins), "AIRLANE_API_EXPOSE_CONFIG": "true"}
    with ctl_cluster(redis_server, work, work / "dags", **env) as (api, ctl):
        api.cluster.start("triggerer", "triggerer")
        token = api.token()
        wait_until(lambda: _job_types(api, token) == JOB_TYPES, 30, "every service's job")
        yield Setup(api, ctl, token)


def _job_types(api: Api, token: str) -> set[str]:
    status, body = api.call("GET", "/api/v2/jobs", token=token)
    assert status == 200, body
    return {job["job_type"] for job in body["jobs"]}


def _ok(result: CtlResult) -> object:
    assert result.rc == 0, result.describe()
    return result.json


def test_login_with_a_username_and_password_stores_a_cli_token(setup: Setup) -> None:
    token = setup.ctl.token()
    assert token is not None
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "alice"
    # /auth/token/cli's lifetime (Airflow's [api_auth] jwt_cli_expiration_time: an hour)
    assert claims["exp"] - claims["iat"] == 3600


def test_a_wrong_password_is_refused(setup: Setup, tmp_path: Path) -> None:
    other = Airflowctl(setup.api.url, tmp_path / "other")
    result = other.login("alice", "not-her-password")
    assert result.rc != 0
    assert "Invalid credentials" in result.stdout + result.stderr


def test_version_reports_the_server(setup: Setup) -> None:
    result = setup.ctl.run("version", "--remote")
    assert result.rc == 0, result.describe()
    status, body = setup.api.call("GET", "/api/v2/version")
    assert status == 200
    assert body["version"] in result.stdout


def test_the_cli_token_route_answers_as_airflows(setup: Setup) -> None:
    call = setup.api.call
    status, body = call("POST", "/auth/token/cli", {"username": "alice", "password": "wonderland"})
    assert status == 201
    assert set(body) == {"access_token"}
    assert call("POST", "/auth/token/cli", {"username": "", "password": "x"}) == (
        400,
        {"detail": "Username and password must be provided"},
    )
    assert call("POST", "/auth/token/cli", {"username": "alice", "password": "no"})[0] == 401
    extra = {"username": "alice", "password": "wonderland", "grant_type": "password"}
    assert call("POST", "/auth/token/cli", extra)[0] == 422


def test_jobs_list_shows_every_service_process_as_the_api_does(setup: Setup) -> None:
    jobs = _ok(setup.ctl.run("jobs", "list", "-o", "json"))
    status, body = setup.api.call("GET", "/api/v2/jobs", token=setup.token)
    assert status == 200
    assert isinstance(jobs, list)
    # airflowctl prints every value as text
    assert {job["id"] for job in jobs} == {str(job["id"]) for job in body["jobs"]}
    assert {job["job_type"] for job in jobs} == JOB_TYPES
    assert all(job["state"] == "running" and job["hostname"] for job in jobs)
    assert all(job["latest_heartbeat"] and job["start_date"] for job in jobs)


def test_jobs_list_filters_by_type_liveness_and_host(setup: Setup) -> None:
    triggerers = _ok(setup.ctl.run("jobs", "list", "--job-type", "TriggererJob", "-o", "json"))
    assert isinstance(triggerers, list)
    assert [job["job_type"] for job in triggerers] == ["TriggererJob"]
    alive = _ok(setup.ctl.run("jobs", "list", "--is-alive", "-o", "json"))
    assert isinstance(alive, list)
    assert len(alive) == 4
    dead = setup.ctl.run("jobs", "list", "--no-is-alive", "-o", "json")
    assert dead.rc == 0, dead.describe()
    assert not dead.json
    host = triggerers[0]["hostname"]
    on_host = _ok(setup.ctl.run("jobs", "list", "--hostname", host, "-o", "json"))
    assert isinstance(on_host, list)
    assert len(on_host) == 4
    nowhere = setup.ctl.run("jobs", "list", "--hostname", "no-such-host", "-o", "json")
    assert nowhere.rc == 0, nowhere.describe()
    assert not nowhere.json


def test_config_list_and_get_show_the_effective_settings_redacted(setup: Setup) -> None:
    listed = _ok(setup.ctl.run("config", "list", "-o", "json"))
    status, body = setup.api.call("GET", "/api/v2/config", token=setup.token)
    assert status == 200
    assert listed == body["sections"]
    options = {
        (section["name"], option["key"]): option["value"]
        for section in body["sections"]
        for option in section["options"]
    }
    assert options["core", "dags_folder"] == str(setup.api.cluster.dags_folder)
    assert options["api_auth", "jwt_secret"] == "< hidden >"
    assert options["airlane", "redis_url"] == "< hidden >"
    assert options["api_auth", "jwt_cli_expiration_time"] == "3600"
    got = setup.ctl.run("config", "get", "core", "dags_folder", "-o", "json")
    assert got.rc == 0, got.describe()
    assert str(setup.api.cluster.dags_folder) in got.stdout
    hidden = setup.ctl.run("config", "get", "api_auth", "jwt_secret", "-o", "json")
    assert hidden.rc == 0, hidden.describe()
    assert "< hidden >" in hidden.stdout
    assert "a-test-secret" not in hidden.stdout + repr(listed)


def test_config_lint_reads_the_settings_and_finds_no_airflow_2_option(setup: Setup) -> None:
    """airflowctl's lint of options removed or renamed in Airflow 3 reads ``config list``:
    Airlane's sections hold none of them."""
    result = setup.ctl.run("config", "lint", "--verbose")
    assert result.rc == 0, result.describe()
    assert "No issues found" in result.stdout, result.describe()


def test_providers_list_shows_the_installed_providers(setup: Setup) -> None:
    listed = _ok(setup.ctl.run("providers", "list", "-o", "json"))
    status, body = setup.api.call("GET", "/api/v2/providers?limit=1000", token=setup.token)
    assert status == 200
    assert isinstance(listed, list)
    names = [p["package_name"] for p in body["providers"]]
    assert [p["package_name"] for p in listed] == names
    # make install-test installs the http provider (scripts/setup.sh)
    assert "apache-airflow-providers-http" in names


def test_plugins_list_and_import_errors_show_the_plugins_folder(setup: Setup) -> None:
    listed = _ok(setup.ctl.run("plugins", "list", "-o", "json"))
    assert isinstance(listed, list)
    assert [p["name"] for p in listed] == ["weekdays_plugin"]
    assert listed[0]["source"] == "$PLUGINS_FOLDER/weekdays.py"
    assert listed[0]["timetables"] == ["weekdays.AfterWeekdayTimetable"]
    errors = setup.ctl.run("plugins", "list-import-errors", "-o", "json")
    assert errors.rc == 0, errors.describe()
    assert "the holiday calendar service is down" in errors.stdout
    assert "broken_timetable.py" in errors.stdout


def test_a_stopped_process_leaves_the_jobs(setup: Setup) -> None:
    """Last in the module: it stops the triggerer."""
    setup.api.cluster.signal("triggerer", signal.SIGTERM)
    wait_until(
        lambda: _job_types(setup.api, setup.token) == JOB_TYPES - {"TriggererJob"},
        10,
        "the triggerer's job to go",
    )
    left = _ok(setup.ctl.run("jobs", "list", "--job-type", "TriggererJob", "-o", "json"))
    assert not left
