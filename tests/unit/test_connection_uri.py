"""Connection URI and JSON rules, compared with what Airflow 3.1.8 computed
(``scripts/compat/record_connection_uris.py`` wrote the fixture with the real Airflow)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airlane.sdk.connection import Connection
from airlane.sdk.exceptions import AirflowException

FIXTURE = Path(__file__).parent / "fixtures" / "connection_uris_airflow_318.json"
RECORDED: dict[str, list[list[Any]]] = json.loads(FIXTURE.read_text())
FIELDS = ("conn_type", "host", "login", "password", "schema", "port", "extra")


def _fields(conn: Connection) -> dict[str, Any]:
    return {name: getattr(conn, name) for name in FIELDS}


@pytest.mark.parametrize(("uri", "fields", "round_trip"), RECORDED["parse"])
def test_a_uri_parses_as_in_airflow(uri: str, fields: dict[str, Any], round_trip: str) -> None:
    conn = Connection(conn_id="c", uri=uri)
    assert _fields(conn) == fields
    assert conn.get_uri() == round_trip


@pytest.mark.parametrize(("kwargs", "uri", "as_json"), RECORDED["uri"])
def test_fields_make_the_uri_and_json_of_airflow(
    kwargs: dict[str, Any], uri: str, as_json: str
) -> None:
    conn = Connection(conn_id="c", **kwargs)
    assert conn.get_uri() == uri
    assert conn.as_json() == as_json
    again = Connection(conn_id="c", uri=uri)
    assert again.get_uri() == uri


@pytest.mark.parametrize(("text", "fields", "as_json"), RECORDED["json"])
def test_json_form_reads_as_in_airflow(text: str, fields: dict[str, Any], as_json: str) -> None:
    conn = Connection.from_json(text, conn_id="j")
    assert conn.conn_id == "j"
    assert _fields(conn) == fields
    assert conn.as_json() == as_json


def test_uri_and_fields_cannot_be_mixed_and_three_schemes_are_refused() -> None:
    with pytest.raises(AirflowException, match="can't mix"):
        Connection(conn_id="c", uri="x://h", host="h")
    with pytest.raises(AirflowException, match="Invalid connection string"):
        Connection(conn_id="c", uri="a://b://c://d")
    with pytest.raises(AirflowException, match="Invalid connection string"):
        Connection(conn_id="c", uri="http://user@https://host")


def test_extra_must_be_a_json_object() -> None:
    with pytest.raises(ValueError, match="non-JSON"):
        Connection(conn_id="c", conn_type="x", extra="not json")
    with pytest.raises(ValueError, match="dictionary"):
        Connection(conn_id="c", conn_type="x", extra="[1]")
    assert Connection(conn_id="c", conn_type="x", extra={"a": 1}).extra_dejson == {"a": 1}
    assert Connection(conn_id="c", conn_type="x").extra_dejson == {}


def test_conn_id_is_sanitized_and_repr_shows_only_the_id() -> None:
    assert Connection(conn_id="my<script>", conn_type="x").conn_id is None
    conn = Connection(conn_id="db_1", conn_type="x", password="hunter22")
    assert repr(conn) == "db_1"
    assert Connection.from_uri("x://:hunter22@h", "db_1").password == "hunter22"


def test_bad_port_in_json_is_refused() -> None:
    with pytest.raises(ValueError, match="integer value for `port`"):
        Connection.from_json('{"conn_type": "x", "port": "eighty"}')
