"""Connections as a resource: the API (secrets write-only), Fernet at rest, the CLI, and a
task that prints its connection's password, whose log, events and API answers show ``***``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)

PASSWORD = "s3cr3t@Pa55word"
TOKEN = "tok-1234567890"
API_KEY = "variable-key-0987"
ENV_PASSWORD = "env-only-pw-4242"
FERNET_KEY = Fernet.generate_key().decode()
BODY = {
    "connection_id": "secret_db",
    "conn_type": "postgres",
    "host": "db.example.com",
    "login": "app",
    "password": PASSWORD,
    "port": 5432,
    "schema": "warehouse",
    "extra": json.dumps({"sslmode": "require", "token": TOKEN}),
}


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("connections")
    shutil.copytree(TEST_DAGS / "connections", work / "dags")
    env = {
        "AIRLANE_FERNET_KEY": FERNET_KEY,
        "AIRFLOW_CONN_ENV_DB": f"mysql://u:{ENV_PASSWORD}@envhost/db",
    }
    with api_cluster(redis_server, work, work / "dags", workers=1, **env) as api:
        yield api


def _conn(api: Api, token: str, conn_id: str) -> dict[str, Any]:
    status, body = api.call("GET", f"/api/v2/connections/{conn_id}", token=token)
    assert status == 200, body
    return dict(body)


def test_api_keeps_secrets_write_only_and_encrypted_at_rest(api: Api) -> None:
    token = api.token()
    status, created = api.call("POST", "/api/v2/connections", BODY, token=token)
    assert status == 201, created
    assert created["password"] == "***"
    assert json.loads(created["extra"]) == {"sslmode": "require", "token": "***"}
    assert api.call("POST", "/api/v2/connections", BODY, token=token)[0] == 409
    raw = api.cluster.redis().hget(api.cluster.keys.connections, "secret_db") or ""
    assert PASSWORD not in raw
    assert TOKEN not in raw
    assert "db.example.com" in raw
    assert json.loads(raw)["is_encrypted"] is True

    # *** sent back keeps the stored secret; update_mask limits what changes
    changed = {**created, "password": "***", "extra": created["extra"], "host": "db2"}
    status, patched = api.call(
        "PATCH", "/api/v2/connections/secret_db?update_mask=host", changed, token=token
    )
    assert status == 200, patched
    assert (patched["host"], patched["login"]) == ("db2", "app")
    status, _ = api.call("PATCH", "/api/v2/connections/secret_db", changed, token=token)
    assert status == 200
    mismatch = {**changed, "connection_id": "other"}
    assert api.call("PATCH", "/api/v2/connections/secret_db", mismatch, token=token)[0] == 400
    with_plain = {**BODY, "connection_id": "zz_plain", "password": None, "extra": None}
    assert api.call("POST", "/api/v2/connections", with_plain, token=token)[0] == 201

    status, page = api.call("GET", "/api/v2/connections?order_by=-connection_id", token=token)
    assert [c["connection_id"] for c in page["connections"]] == ["zz_plain", "secret_db"]
    assert page["connections"][0]["password"] is None
    status, page = api.call("GET", "/api/v2/connections?connection_id_pattern=secret", token=token)
    assert page["total_entries"] == 1
    assert api.call("GET", "/api/v2/connections?order_by=password", token=token)[0] == 400
    # testing connections is off unless enabled, as in Airflow
    assert api.call("POST", "/api/v2/connections/test", BODY, token=token)[0] == 403
    assert api.call("DELETE", "/api/v2/connections/zz_plain", token=token)[0] == 204
    assert api.call("GET", "/api/v2/connections/zz_plain", token=token)[0] == 404


def _log(api: Api, token: str, task_id: str) -> str:
    path = f"/api/v2/dags/conn_print/dagRuns/masked/taskInstances/{task_id}/logs/1"
    status, body = api.call("GET", path, token=token)
    assert status == 200, body
    return "\n".join(str(m["event"]) for m in body["content"])


def test_a_task_printing_its_connection_shows_stars(api: Api) -> None:
    token = api.token()
    if api.call("GET", "/api/v2/connections/secret_db", token=token)[0] == 404:
        assert api.call("POST", "/api/v2/connections", BODY, token=token)[0] == 201
    variable = {"key": "my_api_key", "value": API_KEY}
    assert api.call("POST", "/api/v2/variables", variable, token=token)[0] == 201
    assert api.call("GET", "/api/v2/variables/my_api_key", token=token)[1]["value"] == "***"
    api.cluster.wait_for_dags("conn_print")
    run = {"dag_run_id": "masked"}
    assert api.call("POST", "/api/v2/dags/conn_print/dagRuns", run, token=token)[0] == 200

    def ended() -> str | None:
        path = "/api/v2/dags/conn_print/dagRuns/masked"
        state = api.call("GET", path, token=token)[1]["state"]
        return state if state in ("success", "failed") else None

    assert wait_until(ended, 60, "the run to end") == "failed"
    shown_log = _log(api, token, "show")
    assert "password is ***" in shown_log
    assert "login is app" in shown_log
    assert "'token': '***'" in shown_log
    assert "api key is ***" in shown_log
    assert "env password is ***" in _log(api, token, "from_env")
    failed_log = _log(api, token, "fail")
    assert "cannot log in with ***" in failed_log
    templated_log = _log(api, token, "templated")
    assert "templated password is *** on db" in templated_log
    path = "/api/v2/dags/conn_print/dagRuns/masked/taskInstances/templated"
    rendered = api.call("GET", path, token=token)[1]["rendered_fields"]
    assert rendered["env"] == {"PW": "***"}

    secrets = (PASSWORD, TOKEN, API_KEY, ENV_PASSWORD, "Pa55word")
    everything = shown_log + failed_log + templated_log + json.dumps(rendered)
    path = "/api/v2/dags/conn_print/dagRuns/masked/taskInstances"
    everything += json.dumps(api.call("GET", path, token=token)[1])
    everything += json.dumps(api.call("GET", "/api/v2/connections", token=token)[1])
    everything += json.dumps(api.cluster.redis().xrange(api.cluster.keys.events))
    records = str(api.cluster.task_instances("conn_print", "masked"))
    assert "cannot log in with ***" in records  # the try's error, as stored and shown
    everything += records
    for secret in secrets:
        assert secret not in everything


def test_cli_adds_gets_lists_and_deletes(api: Api) -> None:
    env = {"AIRLANE_REDIS_URL": api.cluster.redis_url, "AIRLANE_FERNET_KEY": FERNET_KEY}
    uri = "http://user:cli-pass-123@example.org:8080/base?timeout=5"
    added = run_cli("connections", "add", "cli_http", "--conn-uri", uri, env=env)
    assert added.code == 0, added.stderr
    again = run_cli("connections", "add", "cli_http", "--conn-uri", uri, env=env)
    assert again.code != 0
    assert "already exists" in again.stderr
    mixed = run_cli("connections", "add", "x", "--conn-uri", uri, "--conn-host", "h", env=env)
    assert mixed.code != 0
    got = run_cli("connections", "get", "cli_http", env=env)
    assert got.code == 0, got.stderr
    shown = json.loads(got.stdout)
    assert (shown["host"], shown["port"], shown["password"]) == ("example.org", 8080, "***")
    assert json.loads(shown["extra"]) == {"timeout": 5}
    listed = run_cli("connections", "list", env=env)
    assert "cli_http" in listed.stdout
    assert "cli-pass-123" not in listed.stdout
    token = api.token()
    assert _conn(api, token, "cli_http")["schema"] == "base"
    assert run_cli("connections", "delete", "cli_http", env=env).code == 0
    assert run_cli("connections", "delete", "cli_http", env=env).code != 0


def test_dags_test_reads_env_connections_and_masks_them() -> None:
    env = {
        "AIRFLOW_CONN_SECRET_DB": f"postgres://app:{PASSWORD.replace('@', '%40')}@envdb/w",
        "AIRFLOW_CONN_ENV_DB": f"mysql://u:{ENV_PASSWORD}@envhost/db",
        "AIRFLOW_VAR_MY_API_KEY": API_KEY,
    }
    folder = str(TEST_DAGS / "connections")
    done = run_cli("dags", "test", "conn_print", "--dags-folder", folder, env=env)
    output = done.stdout + done.stderr
    assert done.code == 1, output  # the "fail" task fails
    assert "password is ***" in output
    assert "templated password is *** on envdb" in output
    assert "cannot log in with ***" in output
    for secret in (PASSWORD, API_KEY, ENV_PASSWORD, "Pa55word"):
        assert secret not in output


def test_a_queued_connection_test_is_polled_and_saves_what_passes(api: Api) -> None:
    """Airflow 3.3's enqueue-test: 202 with a token, the state polled by the token header,
    commit_on_success saving the connection that passed; one test per connection at a time;
    an executor is refused (Airlane tests in its API server)."""
    api.cluster.env["AIRLANE_TEST_CONNECTION"] = "Enabled"
    try:
        tester = Api.start(api.cluster)  # (a second API process, with testing on)
    finally:
        del api.cluster.env["AIRLANE_TEST_CONNECTION"]
    token = tester.token()
    # a sqlite connection: its hook's test (select 1) passes on a local file
    database = str(api.cluster.work_dir / "queued.db")
    body = {"connection_id": "queued_db", "conn_type": "sqlite", "host": database}
    status, queued = tester.call(
        "POST", "/api/v2/connections/enqueue-test", {**body, "commit_on_success": True}, token=token
    )
    assert status == 202, queued
    assert (queued["connection_id"], queued["state"]) == ("queued_db", "pending")
    header = {"Airflow-Connection-Test-Token": queued["token"]}

    def ended() -> dict[str, Any] | None:
        status, polled = tester.call(
            "GET", "/api/v2/connections/enqueue-test", token=token, headers=header
        )
        assert status == 200, polled
        return polled if polled["state"] in ("success", "failed") else None

    polled = wait_until(ended, 60, "the queued connection test to end")
    assert polled["state"] == "success", polled
    assert _conn(tester, token, "queued_db")["host"] == database  # (saved: it passed)
    unknown = {**body, "connection_id": "queued_nothing", "conn_type": "no_such_type"}
    status, queued = tester.call("POST", "/api/v2/connections/enqueue-test", unknown, token=token)
    header = {"Airflow-Connection-Test-Token": queued["token"]}
    polled = wait_until(ended, 60, "the failing test to end")
    assert (polled["state"], polled["result_message"]) == (
        "failed",
        'Unknown hook type "no_such_type"',
    )
    client = api.cluster.redis()  # (a test under way for "busy_db", as one would be)
    client.set(api.cluster.keys.connection_test_active("busy_db"), "another", ex=60)
    client.close()
    busy = {**body, "connection_id": "busy_db"}
    assert tester.call("POST", "/api/v2/connections/enqueue-test", busy, token=token)[0] == 409
    picked = {**body, "executor": "CeleryExecutor"}
    status, answer = tester.call("POST", "/api/v2/connections/enqueue-test", picked, token=token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "executor"])
    missing = {"Airflow-Connection-Test-Token": "nope"}
    status, _ = tester.call("GET", "/api/v2/connections/enqueue-test", token=token, headers=missing)
    assert status == 404
    # the API with testing off refuses, as Airflow's
    assert api.call("POST", "/api/v2/connections/enqueue-test", body, token=token)[0] == 403
