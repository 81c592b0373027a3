"""Secret masking with Airflow 3.1.8's rules (each expected value was computed with
``airflow.sdk._shared.secrets_masker`` of the real Airflow), and the API's write-only shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airlane.api.connection_shapes import apply_patch, connection_response, parse_body
from airlane.api.errors import ApiError
from airlane.api.variables import redacted_value
from airlane.sdk.connection import Connection
from airlane.sdk.secrets_masker import (
    mask_secret,
    mask_text,
    redact,
    reset_secrets_masker,
    should_hide_value_for_key,
)
from airlane.sdk.variable import EnvVariableStore, Variable, use_variable_store


@pytest.fixture(autouse=True)
def fresh_masker() -> Iterator[None]:
    reset_secrets_masker()
    yield
    reset_secrets_masker()


def test_what_gets_masked_follows_airflow() -> None:
    mask_secret("abcd")  # shorter than 5: not masked
    mask_secret("airflow")  # a common word Airflow never masks
    mask_secret("hunter22")
    mask_secret({"password": "pw-in-dict", "host": "not-secret-host"})
    mask_secret(["list-secret-1"])
    mask_secret("named-but-plain", "hostname")
    mask_secret("named-secret", "my_api_key")
    assert redact("abcd and airflow and hunter22") == "abcd and airflow and ***"
    assert redact("pw-in-dict not-secret-host list-secret-1") == "*** not-secret-host ***"
    assert redact("named-but-plain named-secret") == "named-but-plain ***"
    nested = {"password": 123, "nested": {"Token": ["a", "b"], "x": "hunter22"}, "ok": 5}
    expected = {"password": 123, "nested": {"Token": ["***", "***"], "x": "***"}, "ok": 5}
    assert redact(nested) == expected
    assert redact(("hunter22", 1)) == ("***", 1)
    assert redact(["hunter22xx"]) == ["***xx"]
    assert (redact("anything", "password"), redact("anything", "ACCESS_TOKEN_X")) == ("***",) * 2
    assert redact("anything", "hostname") == "anything"
    assert mask_text("log line with hunter22 in it") == "log line with *** in it"


def test_sensitive_names_are_airflows_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    hidden = ["password", "my_PASSWORD", "proxy_url", "connection_string", "authorization"]
    assert all(should_hide_value_for_key(name) for name in [*hidden, "keyfile_dict"])
    assert not any(should_hide_value_for_key(name) for name in ["auth", "host", None])
    monkeypatch.setenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "dsn, pin")
    assert should_hide_value_for_key("my_DSN")
    monkeypatch.setenv("AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS", "False")
    assert not should_hide_value_for_key("password")


def test_a_connection_registers_its_password_quoted_too() -> None:
    conn = Connection(
        conn_id="c", conn_type="x", password="p@ss word!", extra={"token": "tok-12345"}
    )
    assert mask_text(conn.get_uri()) == "x://:***@/?token=***"
    assert "tok-12345" not in mask_text(str(conn.extra_dejson))


def test_variables_with_sensitive_names_are_masked_when_read() -> None:
    store = EnvVariableStore()
    store.set("db_password", "var-secret-1")
    store.set("greeting", "hello there")
    with use_variable_store(store):
        assert Variable.get("db_password") == "var-secret-1"
        assert Variable.get("greeting") == "hello there"
    assert mask_text("var-secret-1 / hello there") == "*** / hello there"
    # the API's answer, as Airflow's VariableResponse
    assert redacted_value("db_password", "var-secret-1") == "***"
    assert redacted_value("config", '{"api_key": "k-12345", "n": 1}') == (
        '{"api_key": "***", "n": 1}'
    )
    assert redacted_value("greeting", "hello there") == "hello there"


def test_api_shapes_keep_secrets_write_only_and_merge_stars_back() -> None:
    body = {"connection_id": "c1", "conn_type": "http", "password": "pw-98765"}
    conn = Connection(conn_id="c1", conn_type="http", password="pw-98765", extra='{"token": "t-1"}')
    shown = connection_response(conn)
    assert (shown["password"], json.loads(shown["extra"])) == ("***", {"token": "***"})
    patch = parse_body({**body, "password": "***", "extra": '{"token": "***", "a": 1}'})
    apply_patch(conn, patch, [])
    assert conn.password == "pw-98765"
    assert json.loads(conn.extra or "") == {"token": "t-1", "a": 1}
    apply_patch(conn, parse_body({**body, "host": "h2", "login": "me"}), ["login"])
    assert (conn.host, conn.login) == (None, "me")
    with pytest.raises(ApiError):
        parse_body({**body, "extra": "[1]"})
    with pytest.raises(ApiError):
        parse_body({**body, "port": True})
    with pytest.raises(ApiError):
        parse_body({**body, "connection_id": "has space"})
    assert parse_body({**body, "extra": ""}).values["extra"] == "{}"
