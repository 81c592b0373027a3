"""The ``airlane`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from redis.exceptions import ConnectionError as RedisConnectionError

from airlane import __version__
from airlane.cli import (
    client,
    connections_cmd,
    dags_cmd,
    db_cmd,
    providers_cmd,
    services,
    tasks_cmd,
)
from airlane.cli.common import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airlane", description="Airflow-style DAGs on asyncio and Redis"
    )
    parser.add_argument("--version", action="version", version=f"airlane {__version__}")
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    dags_cmd.register(groups.add_parser("dags", help="list, show and test DAGs"))
    tasks_cmd.register(groups.add_parser("tasks", help="run a single task, read task logs"))
    client.register_runs(groups.add_parser("runs", help="inspect DAG runs"))
    client.register_pools(groups.add_parser("pools", help="limit concurrency across DAGs"))
    client.register_backfill(groups.add_parser("backfill", help="run a DAG for past dates"))
    db_cmd.register(groups.add_parser("db", help="remove old run records (db clean)"))
    connections_cmd.register(groups.add_parser("connections", help="manage connections"))
    providers_cmd.register(
        groups.add_parser("providers", help="install and list Airflow provider packages")
    )
    services.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
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
