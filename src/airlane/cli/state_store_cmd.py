"""``airlane state-store clean``: Airflow 3.3's command removing the task state store keys
whose expiry has passed (the coordinator's retention pass does the same on its own schedule)."""

from __future__ import annotations

import argparse
import asyncio
import time

from airlane.config import Settings
from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.service.execution.redis_state_store import remove_expired


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("clean", help="remove expired task state store keys")
    p.add_argument("--dry-run", action="store_true", help="count them, remove nothing")
    p.add_argument("--verbose", "-v", action="store_true", help="(Airflow's; no more output)")
    p.set_defaults(handler=cmd_clean)


def cmd_clean(args: argparse.Namespace) -> int:
    count = asyncio.run(_clean(args.dry_run, time.time()))
    print(
        f"{count} expired task state store keys {'would be removed' if args.dry_run else 'removed'}"
    )
    return 0


async def _clean(dry_run: bool, now_s: float) -> int:
    keys = Keys.from_env()
    client = connect(Settings.from_env().redis_url, client_name="airlane-cli")
    try:
        if dry_run:
            return int(await client.zcount(keys.task_state_expiry, 0, now_s))
        removed = 0
        while True:
            batch = await remove_expired(client, keys, now_s)
            removed += batch
            if batch == 0 or not await client.zcount(keys.task_state_expiry, 0, now_s):
                return removed
    finally:
        await client.aclose()
