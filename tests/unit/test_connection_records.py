"""Stored connection records: Fernet at rest with AIRLANE_FERNET_KEY, plain text without one
(as Airflow with an empty fernet_key), key rotation with comma-separated keys."""

from __future__ import annotations

import orjson
import pytest
from cryptography.fernet import Fernet

from airlane.sdk.connection import Connection
from airlane.service.connections.fernet import FernetKeyMissing, current_cipher
from airlane.service.connections.records import from_record, plain_fields, to_record

CONN = Connection(
    conn_id="db", conn_type="postgres", host="h", password="pw-12345", extra={"token": "t-999"}
)


def test_encrypted_at_rest_and_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLANE_FERNET_KEY", Fernet.generate_key().decode())
    raw = to_record(CONN, current_cipher())
    assert "pw-12345" not in raw
    assert "t-999" not in raw
    record = orjson.loads(raw)
    assert (record["is_encrypted"], record["is_extra_encrypted"]) == (True, True)
    assert plain_fields(raw)["host"] == "h"
    assert from_record("db", raw, current_cipher()) == CONN


def test_rotation_and_missing_or_wrong_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("AIRLANE_FERNET_KEY", old)
    raw = to_record(CONN, current_cipher())
    monkeypatch.setenv("AIRLANE_FERNET_KEY", f"{new},{old}")
    assert from_record("db", raw, current_cipher()).password == "pw-12345"
    monkeypatch.setenv("AIRLANE_FERNET_KEY", new)
    with pytest.raises(FernetKeyMissing, match="wrong key"):
        from_record("db", raw, current_cipher())
    monkeypatch.delenv("AIRLANE_FERNET_KEY")
    monkeypatch.delenv("AIRFLOW__CORE__FERNET_KEY", raising=False)
    with pytest.raises(FernetKeyMissing, match="not set"):
        from_record("db", raw, current_cipher())


def test_without_a_key_values_are_stored_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRLANE_FERNET_KEY", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__FERNET_KEY", raising=False)
    raw = to_record(CONN, current_cipher())
    assert orjson.loads(raw)["is_encrypted"] is False
    assert from_record("db", raw, current_cipher()) == CONN
