"""Airflow's remote CLI (``airflowctl``, apache-airflow-ctl 0.1.5) against Airlane's API: it
signs in with a username and password and each command group answers with the API's data.

One cluster (DAG processor, coordinator, a worker, a triggerer and the API) and one signed-in
``airflowctl`` serve the whole module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from tests.conftest import TEST_DAGS
from tests.integration.airflowctl import Airflowctl
from tests.integration.cluster import Api, RedisServer, api_cluster

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
    with api_cluster(redis_server, work, work / "dags", workers=1) as api:
        ctl = Airflowctl.logged_in(api.url, work / "ctl-home")
        yield Setup(api, ctl, api.token())


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
