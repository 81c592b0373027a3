"""``airlane db clean``: Airflow's command for removing old records (runs, asset events, job
records: service/retention.py), on Redis."""

from __future__ import annotations

import argparse
import asyncio
import sys

from airlane.cli.common import CliError
from airlane.config import Settings
from airlane.queue.connection import connect
from airlane.queue.keys import Keys, parse_run_ref
from airlane.sdk.timezone import coerce_datetime
from airlane.service.retention import Cleaned, CleanRequest, clean_all

CONFIRMATION = "delete rows"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "clean",
        help="remove finished runs that started before a timestamp, with everything they own, "
        "and asset events, DAG versions and job records older than it",
    )
    p.add_argument(
        "--clean-before-timestamp",
        required=True,
        help="date or timestamp (no time zone: UTC), e.g. '2026-01-01 00:00:00+01:00'",
    )
    p.add_argument("--dag-ids", default=None, help="only these DAGs (comma-separated)")
    p.add_argument("--exclude-dag-ids", default=None, help="not these DAGs (comma-separated)")
    p.add_argument("--dry-run", action="store_true", help="list the runs, remove nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--verbose", "-v", action="store_true", help="list every run removed")
    # Airflow's other options, each either true of Airlane as it is or refused: never ignored.
    p.add_argument(
        "--skip-archive",
        action="store_true",
        help="Airflow's: do not keep archive copies (Airlane never keeps any)",
    )
    p.add_argument(
        "--tables",
        "-t",
        default=None,
        help="refused: Airlane removes whole runs (dag_run with everything it owns)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="Airflow's: at most N records per transaction (Airlane removes one run per "
        "transaction, within any N >= 1)",
    )
    p.set_defaults(handler=cmd_clean)


def _ids(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def cmd_clean(args: argparse.Namespace) -> int:
    try:
        before = coerce_datetime(args.clean_before_timestamp)
    except Exception as err:
        raise CliError(
            f"--clean-before-timestamp: not a date or date-time: {args.clean_before_timestamp!r} "
            f"({err})"
        ) from None
    assert before is not None
    if args.tables is not None:
        raise CliError(
            "--tables: Airlane removes whole runs (the run with its task instances, XComs, "
            "rendered fields and logs), not single tables; leave --tables out"
        )
    if args.batch_size is not None and args.batch_size < 1:
        raise CliError(f"--batch-size: must be at least 1, got {args.batch_size}")
    request = CleanRequest(
        before_s=before.timestamp(),
        dag_ids=_ids(args.dag_ids),
        exclude_dag_ids=_ids(args.exclude_dag_ids) or frozenset(),
        dry_run=args.dry_run,
    )
    if not args.dry_run and not args.yes:
        print(
            f"You asked to remove every finished run that started before {before.isoformat()}, "
            "with its task instances, XComs and logs, and the asset events, DAG versions and job "
            "records older than that. This cannot be undone.\n"
            f"Enter '{CONFIRMATION}' (without quotes) to proceed."
        )
        if sys.stdin.readline().strip() != CONFIRMATION:
            raise CliError("not confirmed; nothing removed")
    found = asyncio.run(_clean(request))
    verb = "would remove" if args.dry_run else "removed"
    if args.dry_run or args.verbose:
        for ref in found.runs:
            dag_id, run_id = parse_run_ref(ref)
            print(f"{verb}: {dag_id} {run_id}")
    print(f"{len(found.runs)} runs {verb}")
    print(f"{found.asset_events} asset events {verb}")
    print(f"{found.dag_versions} DAG versions {verb}")
    if request.dag_ids is None:
        print(f"{found.jobs} job records {verb}")
    return 0


async def _clean(request: CleanRequest) -> Cleaned:
    client = connect(Settings.from_env().redis_url, client_name="airlane-cli")
    try:
        return await clean_all(client, Keys.from_env(), request)
    finally:
        await client.aclose()
