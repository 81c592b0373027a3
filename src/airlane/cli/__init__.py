"""The ``airlane`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from airlane import __version__
from airlane.cli import client, dags_cmd, services, tasks_cmd
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
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        code = 0
    sys.exit(code)
