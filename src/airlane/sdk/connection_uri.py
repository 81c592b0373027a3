"""Airflow's connection URI format, both directions.

``postgres://user:pa%2Fss@host:5432/schema?sslmode=require``: the scheme is the connection
type (``-`` in a scheme is ``_`` in the type, ``postgresql`` is ``postgres``), the path is the
schema, the query is the extra (each value read as JSON when it parses, or the whole extra as
JSON under ``__extra__`` when it cannot be flattened). ``http://https://host`` keeps a protocol
in the host. The rules follow ``airflow.models.connection.Connection`` of Airflow 3.1.8, which
is what reads ``AIRFLOW_CONN_<ID>`` there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

from airlane.sdk.exceptions import AirflowException

EXTRA_KEY = "__extra__"

log = logging.getLogger("airflow.models.connection.Connection")


@dataclass(frozen=True)
class UriParts:
    """The connection fields a URI holds."""

    conn_type: str
    host: str | None
    login: str | None
    password: str | None
    schema: str | None
    port: int | None
    extra: str | None


def normalize_conn_type(conn_type: str) -> str:
    """``postgresql`` is ``postgres``; ``-`` becomes ``_`` (URI schemes cannot hold ``_``)."""
    if conn_type == "postgresql":
        return "postgres"
    return conn_type.replace("-", "_")


def _hostname(parts: SplitResult) -> str:
    # urlsplit lowercases hostnames and cannot hold a path in one: take it from netloc then
    hostname = unquote(parts.hostname or "")
    if "/" in hostname:
        hostname = parts.netloc
        if "@" in hostname:
            hostname = hostname.rsplit("@", 1)[1]
        if ":" in hostname:
            hostname = hostname.split(":", 1)[0]
        hostname = unquote(hostname)
    return hostname


def _extra_from_query(query_text: str) -> str | None:
    if not query_text:
        return None
    query: dict[str, Any] = dict(parse_qsl(query_text, keep_blank_values=True))
    if EXTRA_KEY in query:
        return str(query[EXTRA_KEY])
    for key, value in query.items():
        try:
            query[key] = json.loads(value)
        except ValueError:
            log.debug("Failed parsing the json for key %s", key)
    return json.dumps(query)


def parse_uri(uri: str) -> UriParts:
    """The fields of an Airflow connection URI."""
    schemes = uri.count("://")
    if schemes > 2:
        raise AirflowException(f"Invalid connection string: {uri}.")
    with_protocol = schemes == 2
    raw_type = urlsplit(uri).scheme
    rest = uri.replace(f"{raw_type}://", "" if with_protocol else "//")
    if with_protocol:
        before = rest.split("://", 1)[0]
        if "@" in before or ":" in before:
            raise AirflowException(f"Invalid connection string: {uri}.")
    parts = urlsplit(rest)
    host: str | None = _hostname(parts)
    if host and with_protocol:
        host = f"{parts.scheme}://{host}"
    schema = parts.path[1:]
    return UriParts(
        conn_type=normalize_conn_type(raw_type),
        host=host,
        login=unquote(parts.username) if parts.username else parts.username,
        password=unquote(parts.password) if parts.password else parts.password,
        schema=unquote(schema) if schema else schema,
        port=parts.port,
        extra=_extra_from_query(parts.query),
    )


def _authority(login: str | None, password: str | None) -> str:
    block = ""
    if login is not None:
        block += quote(login, safe="")
    if password is not None:
        block += ":" + quote(password, safe="")
    return block + "@" if block else ""


def _host_and_protocol(conn_type: str | None, host: str | None) -> tuple[str | None, str | None]:
    if host and "://" in host:
        protocol, bare = host.split("://", 1)
        if protocol == conn_type:
            return host, None
        return bare, protocol
    return host, None


def _query(extra: str, extra_dict: dict[str, Any]) -> str:
    flat = all(isinstance(value, str) for value in extra_dict.values())
    try:
        query: str | None = urlencode(extra_dict)
    except TypeError:
        query = None
    if flat and query and extra_dict == dict(parse_qsl(query, keep_blank_values=True)):
        return query
    return urlencode({EXTRA_KEY: extra})


def build_uri(
    fields: UriParts | Any,
    extra_dict: dict[str, Any],
) -> str:
    """The URI of a connection (``fields`` has the attributes of :class:`UriParts`)."""
    conn_type: str | None = fields.conn_type
    if conn_type and "_" in conn_type:
        log.warning(
            "Connection schemes (type: %s) shall not contain '_' according to RFC3986.", conn_type
        )
    uri = f"{conn_type.lower().replace('_', '-')}://" if conn_type else "//"
    host, protocol = _host_and_protocol(conn_type, fields.host)
    if protocol:
        uri += f"{protocol}://"
    authority = _authority(fields.login, fields.password)
    uri += authority
    host_block = quote(host, safe="") if host else ""
    if fields.port:
        host_block += f"@:{fields.port}" if not host_block and not authority else f":{fields.port}"
    if fields.schema:
        host_block += f"/{quote(fields.schema, safe='')}"
    uri += host_block
    if fields.extra:
        uri += ("?" if fields.schema else "/?") + _query(fields.extra, extra_dict)
    return uri
