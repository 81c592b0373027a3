"""Airflow's ``Connection``: how a hook reaches an external system.

Fields, URI and JSON forms follow ``airflow.models.connection.Connection`` of Airflow 3.1.8
(``Connection(conn_id=..., uri=...)``, ``get_uri``, ``from_json``, ``as_json``, ``to_dict``,
``extra_dejson``), with the task SDK's ``Connection.get`` / ``from_uri`` as well. A password
and the sensitive values of the extra are registered with the secrets masker as Airflow does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import quote

from airlane.sdk.connection_store import find_connection
from airlane.sdk.connection_uri import EXTRA_KEY, build_uri, normalize_conn_type, parse_uri
from airlane.sdk.exceptions import AirflowException, AirflowNotFoundException
from airlane.sdk.provider_hooks import find_hook, import_string
from airlane.sdk.secrets_masker import mask_secret

log = logging.getLogger("airflow.models.connection")

CONN_ID_MAX_LEN = 250
_CONN_ID_RE = re.compile(r"^[\w#!()\-.:/\\]{1,}$")

FIELDS = ("conn_id", "conn_type", "description", "host", "login", "password", "schema", "port")


def sanitize_conn_id(conn_id: str | None, max_length: int = CONN_ID_MAX_LEN) -> str | None:
    """``conn_id`` when it is 1..250 of letters, digits and ``#!()-.:/\\_``, else None."""
    if not isinstance(conn_id, str) or len(conn_id) > max_length:
        return None
    found = _CONN_ID_RE.match(conn_id)
    return None if found is None else found.group(0)


def _validate_extra(extra: str, conn_id: str | None) -> None:
    try:
        parsed = json.loads(extra)
    except json.JSONDecodeError:
        raise ValueError(
            f"Encountered non-JSON in `extra` field for connection {conn_id!r}."
        ) from None
    if not isinstance(parsed, dict):
        raise ValueError(
            "Encountered JSON value in `extra` which does not parse as a dictionary in "
            f"connection {conn_id!r}. The `extra` field must contain a JSON "
            "representation of a Python dict."
        )


def _prune_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class Connection:
    """A connection to an external system (Airflow's ``Connection``)."""

    EXTRA_KEY = EXTRA_KEY

    def __init__(
        self,
        conn_id: str | None = None,
        conn_type: str | None = None,
        description: str | None = None,
        host: str | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extra: str | dict[str, Any] | None = None,
        uri: str | None = None,
    ) -> None:
        self.conn_id = sanitize_conn_id(conn_id)
        self.description = description
        if extra and not isinstance(extra, str):
            extra = json.dumps(extra)
        if uri and (conn_type or host or login or password or schema or port or extra):
            raise AirflowException(
                "You must create an object using the URI or individual values "
                "(conn_type, host, login, password, schema, port or extra)."
                "You can't mix these two ways to create this object."
            )
        self.conn_type: str | None = conn_type
        self.host: str | None = host
        self.login: str | None = login
        self.password: str | None = password or None  # Airflow stores no empty password
        self.schema: str | None = schema
        self.port: int | None = port
        self.extra: str | None = extra if isinstance(extra, str) else None
        if uri:
            self._set_from_uri(uri)
        if self.extra:
            _validate_extra(self.extra, self.conn_id)
        if self.password:
            mask_secret(self.password)
            mask_secret(quote(self.password))

    def _set_from_uri(self, uri: str) -> None:
        parts = parse_uri(uri)
        self.conn_type = parts.conn_type
        self.host = parts.host
        self.login = parts.login
        self.password = parts.password or None
        self.schema = parts.schema
        self.port = parts.port
        self.extra = parts.extra

    @classmethod
    def from_uri(cls, uri: str, conn_id: str) -> Connection:
        return cls(conn_id=conn_id, uri=uri)

    @staticmethod
    def _normalize_conn_type(conn_type: str) -> str:
        return normalize_conn_type(conn_type)

    # --- forms -----------------------------------------------------------------------------

    def get_uri(self) -> str:
        """The connection in Airflow's URI format."""
        return build_uri(self, self.extra_dejson if self.extra else {})

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """The extra as a dict ({} when empty or not JSON); its sensitive values get masked."""
        return self.get_extra_dejson()

    def get_extra_dejson(self, nested: bool = False) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if not self.extra:
            return extra
        try:
            extra = json.loads(self.extra)
        except json.JSONDecodeError:
            log.exception("Failed parsing the json for conn_id %s", self.conn_id)
            return {}
        if nested:
            extra = {key: _maybe_json(value) for key, value in extra.items()}
        mask_secret(extra)
        return extra

    def to_dict(self, *, prune_empty: bool = False, validate: bool = True) -> dict[str, Any]:
        conn: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        if prune_empty:
            conn = _prune_none(conn)
        extra = self.extra_dejson
        if extra or not prune_empty:
            conn["extra"] = extra
        if validate:
            json.dumps(conn)
        return conn

    @classmethod
    def from_json(cls, value: str, conn_id: str | None = None) -> Connection:
        """A connection from Airflow's JSON form (``extra`` a dict or a JSON string)."""
        kwargs = json.loads(value)
        extra = kwargs.pop("extra", None)
        if extra:
            kwargs["extra"] = extra if isinstance(extra, str) else json.dumps(extra)
        conn_type = kwargs.pop("conn_type", None)
        if conn_type:
            kwargs["conn_type"] = normalize_conn_type(conn_type)
        port = kwargs.pop("port", None)
        if port:
            try:
                kwargs["port"] = int(port)
            except ValueError:
                raise ValueError(
                    f"Expected integer value for `port`, but got {port!r} instead."
                ) from None
        return cls(conn_id=conn_id, **kwargs)

    def as_json(self) -> str:
        conn = self.to_dict(prune_empty=True, validate=False)
        conn.pop("conn_id", None)
        return json.dumps(conn)

    # --- lookup and hooks ------------------------------------------------------------------

    @classmethod
    def get(cls, conn_id: str) -> Connection:
        """The connection ``conn_id`` from the environment or the installed store."""
        found = find_connection(conn_id)
        if found is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        _mask_connection(found)
        return found

    @classmethod
    async def async_get(cls, conn_id: str) -> Connection:
        return await asyncio.to_thread(cls.get, conn_id)

    @classmethod
    def get_connection_from_secrets(cls, conn_id: str) -> Connection:
        return cls.get(conn_id)

    def get_hook(self, *, hook_params: dict[str, Any] | None = None) -> Any:
        """The hook of this connection's type, from the installed providers."""
        hook = find_hook(self.conn_type or "")
        if hook is None:
            raise AirflowException(f'Unknown hook type "{self.conn_type}"')
        try:
            hook_class = import_string(hook.hook_class_name)
        except ImportError:
            log.error(
                "Could not import %s when discovering %s %s",
                hook.hook_class_name,
                hook.hook_name,
                hook.package_name,
            )
            raise
        params = hook_params or {}
        return hook_class(**{hook.connection_id_attribute_name: self.conn_id}, **params)

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's test: the hook's ``test_connection`` when it has one."""
        try:
            hook = self.get_hook()
            if getattr(hook, "test_connection", False):
                status, message = hook.test_connection()
                return bool(status), str(message)
            name = type(hook).__name__
            return False, f"Hook {name} doesn't implement or inherit test_connection method"
        except Exception as error:
            return False, str(error)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Connection):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in (*FIELDS, "extra"))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return self.conn_id or ""


def _maybe_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _mask_connection(conn: Connection) -> None:
    if conn.password:
        mask_secret(conn.password)
    if conn.extra:
        mask_secret(conn.extra)
        mask_secret(conn.extra_dejson)


__all__ = ["CONN_ID_MAX_LEN", "Connection", "sanitize_conn_id"]
