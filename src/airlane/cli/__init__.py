"""The ``airlane`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from airlane import __version__
from airlane.cli import services
from airlane.cli.common import CliError


def _register_group(groups: Any, name: str) -> None:
    """Add one command group, importing only the module that defines it."""
    if name in services.COMMANDS:
        services.register(groups, only=name)
    elif name == "dags":
        from airlane.cli import dags_cmd

        dags_cmd.register(groups.add_parser("dags", help="list, show and test DAGs"))
    elif name == "tasks":
        from airlane.cli import tasks_cmd

        tasks_cmd.register(groups.add_parser("tasks", help="run a single task, read task logs"))
    elif name in ("runs", "pools", "backfill"):
        _register_client_group(groups, name)
    elif name == "db":
        from airlane.cli import db_cmd

        db_cmd.register(groups.add_parser("db", help="remove old run records (db clean)"))
    elif name == "state-store":
        from airlane.cli import state_store_cmd

        state_store_cmd.register(
            groups.add_parser("state-store", help="manage task and asset state storage")
        )
    elif name == "connections":
        from airlane.cli import connections_cmd

        connections_cmd.register(groups.add_parser("connections", help="manage connections"))
    elif name == "providers":
        from airlane.cli import providers_cmd

        providers_cmd.register(
            groups.add_parser("providers", help="install and list Airflow provider packages")
        )


def _register_client_group(groups: Any, name: str) -> None:
    from airlane.cli import client

    if name == "runs":
        client.register_runs(groups.add_parser("runs", help="inspect DAG runs"))
    elif name == "pools":
        client.register_pools(groups.add_parser("pools", help="limit concurrency across DAGs"))
    else:
        client.register_backfill(groups.add_parser("backfill", help="run a DAG for past dates"))


#: every command group, in the order ``airlane --help`` lists them
_GROUPS = (
    "dags",
    "tasks",
    "runs",
    "pools",
    "backfill",
    "db",
    "state-store",
    "connections",
    "providers",
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; when ``argv`` names a command group, only that group's module is imported.

    A service process (``airlane worker``...) then skips the API, the DAG loader's CLI and
    the client's imports: about half a second of CPU at each start.
    """
    parser = argparse.ArgumentParser(
        prog="airlane", description="Airflow-style DAGs on asyncio and Redis"
    )
    parser.add_argument("--version", action="version", version=f"airlane {__version__}")
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    first = next((arg for arg in argv or () if not arg.startswith("-")), None)
    if first is not None and (first in _GROUPS or first in services.COMMANDS):
        _register_group(groups, first)
        return parser
    for name in _GROUPS:
        _register_group(groups, name)
    services.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        code = args.handler(args)
    except CliError as err:
        print(f"airlane: error: {err}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    except RedisConnectionError as err:
        url = os.environ.get("AIRLANE_REDIS_URL", "redis://127.0.0.1:6379/0")
        print(
            f"airlane: error: cannot reach Redis at {url} ({err}); is Airlane running? "
            "Set AIRLANE_REDIS_URL (standalone writes it to <data-dir>/airlane.env)",
            file=sys.stderr,
        )
        code = 2
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        code = 0
    sys.exit(code)
