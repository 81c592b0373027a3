"""``airlane connections add|get|list|delete``: Airflow's commands, on the Redis store.

Values are encrypted with ``AIRLANE_FERNET_KEY`` as the API stores them. What ``get`` and
``list`` print has its password and sensitive extra values as ``***`` (the API's shape):
secrets are write-only everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from airlane.api.connection_shapes import connection_response
from airlane.cli.common import CliError, print_json
from airlane.config import Settings
from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.sdk.connection import Connection, sanitize_conn_id
from airlane.sdk.exceptions import AirflowException
from airlane.service.connections.redis_store import ConnectionsAdmin

_FIELDS = ("type", "host", "login", "password", "schema", "port", "extra", "description")


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("add", help="add a connection (a URI, JSON, or its fields)")
    p.add_argument("conn_id")
    p.add_argument("--conn-uri", default=None, help="Airflow's URI form")
    p.add_argument("--conn-json", default=None, help="Airflow's JSON form")
    for name in _FIELDS:
        p.add_argument(f"--conn-{name}", default=None)
    p.set_defaults(handler=lambda args: _run(cmd_add(args)))
    p = sub.add_parser("get", help="show a connection (secrets as ***)")
    p.add_argument("conn_id")
    p.set_defaults(handler=lambda args: _run(cmd_get(args)))
    p = sub.add_parser("list", help="list connections (secrets as ***)")
    p.add_argument("--conn-id", default=None, help="only this one")
    p.set_defaults(handler=lambda args: _run(cmd_list(args)))
    p = sub.add_parser("delete", help="delete a connection")
    p.add_argument("conn_id")
    p.set_defaults(handler=lambda args: _run(cmd_delete(args)))


def _run(coro: Any) -> int:
    result: int = asyncio.run(coro)
    return result


def _admin() -> ConnectionsAdmin:
    client = connect(Settings.from_env().redis_url, client_name="airlane-cli")
    return ConnectionsAdmin(client, Keys.from_env())


def _port(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise CliError(f"--conn-port: not an integer: {raw!r}") from None


def connection_from_args(args: argparse.Namespace) -> Connection:
    """The connection ``add`` describes, with Airflow's rules on which options mix."""
    if sanitize_conn_id(args.conn_id) != args.conn_id:
        raise CliError(f"conn_id {args.conn_id!r}: letters, digits and #!()-.:/\\_ only")
    fields = {name: getattr(args, f"conn_{name}") for name in _FIELDS}
    given = [name for name, value in fields.items() if value is not None]
    if args.conn_uri and args.conn_json:
        raise CliError("Cannot supply both conn-uri and conn-json")
    if (args.conn_uri or args.conn_json) and given:
        raise CliError("Connection options (--conn-type...) cannot be mixed with --conn-uri/json")
    try:
        if args.conn_uri:
            return Connection(conn_id=args.conn_id, uri=args.conn_uri)
        if args.conn_json:
            return Connection.from_json(args.conn_json, conn_id=args.conn_id)
        if not fields["type"]:
            raise CliError("Must supply either conn-uri or conn-json if not supplying conn-type")
        extra = fields.pop("extra")
        port = _port(fields.pop("port"))
        conn_type = fields.pop("type")
        return Connection(
            conn_id=args.conn_id, conn_type=conn_type, port=port, extra=extra, **fields
        )
    except (AirflowException, ValueError, json.JSONDecodeError) as error:
        raise CliError(str(error)) from None


async def cmd_add(args: argparse.Namespace) -> int:
    conn = connection_from_args(args)
    if not await _admin().add(conn):
        raise CliError(f"A connection with `conn_id`={args.conn_id} already exists.")
    print(f"Successfully added `conn_id`={args.conn_id}")
    return 0


async def cmd_get(args: argparse.Namespace) -> int:
    conn = await _admin().get(args.conn_id)
    if conn is None:
        raise CliError(f"Connection not found: {args.conn_id}")
    print_json(connection_response(conn))
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    admin = _admin()
    ids = sorted(await admin.raw_all()) if args.conn_id is None else [args.conn_id]
    shown = []
    for conn_id in ids:
        conn = await admin.get(conn_id)
        if conn is not None:
            shown.append(connection_response(conn))
    print_json(shown)
    return 0


async def cmd_delete(args: argparse.Namespace) -> int:
    if not await _admin().delete(args.conn_id):
        raise CliError(f"Did not find a connection with `conn_id`={args.conn_id}")
    print(f"Successfully deleted connection with `conn_id`={args.conn_id}")
    return 0
