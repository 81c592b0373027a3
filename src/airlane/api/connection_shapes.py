"""What ``/api/v2/connections`` reads and answers: Airflow's ``ConnectionBody`` and
``ConnectionResponse`` (3.1.8), secrets write-only.

A response never holds a password: it is ``***`` (Airflow redacts the field by its name), and
the extra's values under sensitive keys (``password``, ``token``, ``api_key``...) are ``***``
too. A PATCH that sends ``***`` back keeps what is stored (Airflow's merge of redacted values).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from airlane.api.errors import invalid
from airlane.api.inputs import as_int, no_team
from airlane.sdk.connection import Connection
from airlane.sdk.secrets_masker import REPLACEMENT, redact, should_hide_value_for_key

CONNECTION_ID_RE = re.compile(r"^[\w.-]+$")
CONNECTION_ID_MAX = 200
OPTIONAL_TEXT = ("description", "host", "login", "schema", "password", "extra")
#: team_name: newer Airflow's (airflowctl sends it, null); Airlane has no teams, so a value is
#: refused as Airflow refuses one outside its multi-team mode (inputs.no_team)
BODY_FIELDS = frozenset({"connection_id", "conn_type", "port", "team_name", *OPTIONAL_TEXT})


@dataclass(frozen=True)
class ConnectionBody:
    """A validated body; ``given`` holds the fields the request named."""

    values: dict[str, Any]
    given: frozenset[str]

    @property
    def connection_id(self) -> str:
        return str(self.values["connection_id"])


def _required_str(data: dict[str, Any], name: str) -> str:
    if name not in data:
        raise invalid("body", name, "Field required")
    value = data[name]
    if not isinstance(value, str):
        raise invalid("body", name, "Input should be a valid string", value)
    return value


def _extra(value: str | None) -> str | None:
    if value is None:
        return None
    if value == "":
        return "{}"  # Airflow: an empty extra is an empty object
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise invalid(
            "body",
            "extra",
            "The `extra` field must be a valid JSON object (e.g., {'key': 'value'})",
        )
    return value


def parse_body(data: dict[str, Any]) -> ConnectionBody:
    conn_id = _required_str(data, "connection_id")
    if len(conn_id) > CONNECTION_ID_MAX:
        raise invalid("body", "connection_id", "String should have at most 200 characters", conn_id)
    if not CONNECTION_ID_RE.fullmatch(conn_id):
        message = "String should match pattern '^[\\w.-]+$'"
        raise invalid("body", "connection_id", message, conn_id)
    values: dict[str, Any] = {
        "connection_id": conn_id,
        "conn_type": _required_str(data, "conn_type"),
    }
    for name in OPTIONAL_TEXT:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise invalid("body", name, "Input should be a valid string", value)
        values[name] = value
    raw_port = data.get("port")
    port = as_int(raw_port)  # 3.0 is a JSON integer too
    if port is None and raw_port is not None:
        raise invalid("body", "port", "Input should be a valid integer", raw_port)
    if isinstance(raw_port, float) and not -(2**63) < raw_port < 2**63:
        port = 2**63  # a float this large stands for an integer past the bounds
    if port is not None and not -(2**63) <= port < 2**63:
        raise invalid("body", "port", "Input should be a 64-bit integer", port)
    values["port"] = port
    values["extra"] = _extra(values["extra"])
    no_team(data)
    return ConnectionBody(values, frozenset(data) - {"team_name"})


def new_connection(body: ConnectionBody, conn_id: str | None = None) -> Connection:
    fields = {k: v for k, v in body.values.items() if k != "connection_id"}
    return Connection(conn_id=conn_id or body.connection_id, **fields)


def _redacted_extra(extra: str | None) -> str | None:
    if extra is None:
        return None
    try:
        return json.dumps(redact(json.loads(extra)))
    except json.JSONDecodeError:
        return extra  # an unstructured extra cannot be redacted by key (as Airflow)


def connection_response(conn: Connection) -> dict[str, Any]:
    password = conn.password
    return {
        "connection_id": conn.conn_id,
        "conn_type": conn.conn_type or "",
        "description": conn.description,
        "host": conn.host,
        "login": conn.login,
        "schema": conn.schema,
        "port": conn.port,
        "password": None if password is None else str(redact(password, "password")),
        "extra": _redacted_extra(conn.extra),
    }


def _merge(new: Any, old: Any, sensitive: bool) -> Any:
    """Airflow's ``merge``: a ``***`` left in a sensitive place keeps the stored value."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {
            key: _merge(value, old[key], sensitive or should_hide_value_for_key(key))
            if key in old
            else value
            for key, value in new.items()
        }
    if sensitive and new == REPLACEMENT:
        return old
    return new


def _changes(body: ConnectionBody, update_mask: list[str]) -> set[str]:
    given = set(body.given) - {"connection_id"}
    return given & set(update_mask) if update_mask else given


def apply_patch(conn: Connection, body: ConnectionBody, update_mask: list[str]) -> None:
    """Airflow's ``update_orm_from_pydantic``: the named (or masked-in) fields change."""
    changes = _changes(body, update_mask)
    for name in changes - {"password", "extra"}:
        setattr(conn, name, body.values[name])
    wanted = set(update_mask) if update_mask else set(body.given)
    new_password = body.values["password"]
    if "password" in wanted and new_password:  # Airflow's set_password ignores an empty value
        conn.password = _merge(new_password, conn.password, True)
    if "extra" in wanted:
        conn.extra = _merged_extra(body.values["extra"], conn.extra)


def _merged_extra(new: str | None, old: str | None) -> str | None:
    if new is None or old is None:
        return new
    try:
        return json.dumps(_merge(json.loads(new), json.loads(old), False))
    except json.JSONDecodeError:
        return new
