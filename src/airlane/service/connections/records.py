"""A connection as stored in the ``connections`` hash: Airflow's columns, secrets encrypted.

As in Airflow's table, only the password and the extra are encrypted; conn_type, host and the
rest stay readable so lists can be sorted without decrypting everything.
"""

from __future__ import annotations

from typing import Any

import orjson

from airlane.sdk.connection import Connection
from airlane.service.connections.fernet import Cipher

PLAIN_FIELDS = ("conn_type", "description", "host", "login", "schema", "port")


def to_record(conn: Connection, cipher: Cipher) -> str:
    record: dict[str, Any] = {name: getattr(conn, name) for name in PLAIN_FIELDS}
    record["password"] = cipher.encrypt(conn.password) if conn.password else None
    record["is_encrypted"] = bool(conn.password) and cipher.is_encrypted
    record["extra"] = cipher.encrypt(conn.extra) if conn.extra else conn.extra
    record["is_extra_encrypted"] = bool(conn.extra) and cipher.is_encrypted
    return orjson.dumps(record).decode()


def plain_fields(raw: str) -> dict[str, Any]:
    """The fields stored in clear (for listing and sorting), without decrypting."""
    record = orjson.loads(raw)
    return {name: record.get(name) for name in PLAIN_FIELDS}


def from_record(conn_id: str, raw: str, cipher: Cipher) -> Connection:
    record = orjson.loads(raw)
    password = record.get("password")
    if password and record.get("is_encrypted"):
        password = cipher.decrypt(password)
    extra = record.get("extra")
    if extra and record.get("is_extra_encrypted"):
        extra = cipher.decrypt(extra)
    conn = Connection(
        conn_id=conn_id,
        password=password,
        extra=extra,
        **{name: record.get(name) for name in PLAIN_FIELDS},
    )
    conn.conn_id = conn_id  # stored ids were validated on the way in
    return conn
