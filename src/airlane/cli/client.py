"""CLI commands that talk to a running Airlane through Redis (``AIRLANE_REDIS_URL``)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airlane.cli.common import CliError, parse_conf, parse_logical_date, print_json
from airlane.config import Settings
from airlane.engine.graph import clear_subset
from airlane.engine.run_state import TIRecord, instance_summary
from airlane.queue.conf_limit import ConfTooLarge
from airlane.queue.connection import connect
from airlane.queue.log_pages import iter_pages
from airlane.queue.protocol import run_id_problem
from airlane.queue.store import DagNotFound, RunExists, RunRequest, Store
from airlane.scheduling.custom_timetable import TimetableError
from airlane.scheduling.manual_runs import manual_interval
from airlane.sdk.run_types import refusal
from airlane.sdk.timetable_base import DagRunType
from airlane.sdk.timezone import coerce_datetime, utcnow

if TYPE_CHECKING:
    from airlane.api.clear_across import RunClear


def register_dags(sub: Any) -> None:
    p = sub.add_parser("trigger", help="create a run of a DAG on the running service")
    p.add_argument("dag_id")
    p.add_argument("--conf", "-c", help="JSON object passed as the run's conf")
    p.add_argument("--run-id", "-r")
    p.add_argument("--logical-date", "-e", dest="logical_date")
    p.add_argument(
        "--wait", action="store_true", help="wait for the run to end; exit 1 if it failed"
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="with --wait: give up after N seconds"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=lambda args: _run(cmd_trigger(args)))
    for name, paused in (("pause", True), ("unpause", False)):
        p = sub.add_parser(name, help=f"{name} a DAG")
        p.add_argument("dag_id")
        p.set_defaults(handler=lambda args, paused=paused: _run(cmd_pause(args, paused)))


def register_runs(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("show", help="a run's state and its task instances")
    p.add_argument("dag_id")
    p.add_argument("run_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=lambda args: _run(cmd_show(args)))
    p = sub.add_parser("list", help="recent runs of a DAG")
    p.add_argument("dag_id")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=lambda args: _run(cmd_list(args)))


def register_pools(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("set", help="create or resize a pool")
    p.add_argument("name")
    p.add_argument("slots", type=int)
    p.add_argument("--description", default="")
    p.add_argument(
        "--include-deferred",
        action="store_true",
        help="deferred task instances hold their slots of the pool while they wait",
    )
    p.set_defaults(handler=lambda args: _run(cmd_pool_set(args)))
    p = sub.add_parser("list", help="list pools")
    p.set_defaults(handler=lambda args: _run(cmd_pool_list(args)))


async def cmd_pool_set(args: argparse.Namespace) -> int:
    if args.slots < 0:
        raise CliError("slots: must be >= 0")
    store = await _store()
    await store.set_pool(args.name, args.slots, args.description, args.include_deferred)
    deferred = " (deferred tasks included)" if args.include_deferred else ""
    print(f"pool {args.name}: {args.slots} slots{deferred}")
    return 0


async def cmd_pool_list(args: argparse.Namespace) -> int:
    for name, pool in sorted((await (await _store()).pools()).items()):
        deferred = "include_deferred" if pool.get("include_deferred") else ""
        print(f"{name}  {pool.get('slots')}  {pool.get('description', '')}  {deferred}".rstrip())
    return 0


def register_tasks(sub: Any) -> None:
    p = sub.add_parser("logs", help="print the log of a task try")
    p.add_argument("dag_id")
    p.add_argument("run_id")
    p.add_argument("task_id")
    p.add_argument(
        "--try", dest="try_number", type=int, default=None, help="default: the latest try"
    )
    p.add_argument("--map-index", type=int, default=-1)
    p.set_defaults(handler=lambda args: _run(cmd_logs(args)))
    p = sub.add_parser("clear", help="clear task instances so that they run again")
    p.add_argument("dag_id")
    p.add_argument("--run-id", "-r", action="append", help="a run (repeatable); default: all")
    p.add_argument("--task-regex", "-t", default=".*", help="tasks whose id matches (re.search)")
    p.add_argument("--downstream", "-d", action="store_true", help="with their downstream")
    p.add_argument("--upstream", "-u", action="store_true", help="with their upstream")
    p.add_argument("--only-failed", "-f", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="list what would be cleared")
    p.set_defaults(handler=lambda args: _run(cmd_clear(args)))


def register_backfill(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("create", help="runs for past logical dates, made as room frees up")
    p.add_argument("--dag-id", required=True)
    p.add_argument("--from-date", required=True)
    p.add_argument("--to-date", required=True)
    p.add_argument("--reprocess-behavior", choices=["none", "failed", "completed"], default="none")
    p.add_argument("--max-active-runs", type=int, default=10)
    p.add_argument("--run-backwards", action="store_true")
    p.add_argument("--conf", "-c", help="JSON object passed as each run's conf")
    p.add_argument("--dry-run", action="store_true", help="list the logical dates only")
    p.set_defaults(handler=lambda args: _run(cmd_backfill_create(args)))
    p = sub.add_parser("list", help="backfills and their progress")
    p.add_argument("--dag-id", default=None)
    p.set_defaults(handler=lambda args: _run(cmd_backfill_list(args)))


async def cmd_clear(args: argparse.Namespace) -> int:
    store = await _store()
    dag = await store.dag(args.dag_id)
    if dag is None:
        raise CliError(f"DAG {args.dag_id!r} not found")
    try:
        pattern = re.compile(args.task_regex)
    except re.error as err:
        raise CliError(f"--task-regex: {err}") from None
    matched = {t["task_id"] for t in dag.get("tasks", []) if pattern.search(t["task_id"])}
    # Airflow's partial_subset: the relatives asked for, and the setups and teardowns they need
    wanted = clear_subset(dag, matched, upstream=args.upstream, downstream=args.downstream)

    def keep(record: TIRecord) -> bool:
        return not args.only_failed or record.state.value in ("failed", "upstream_failed")

    clears = await _chosen_runs(store, args, dag, wanted, keep)
    if args.downstream:
        clears = await _with_marked(store, clears, keep)
    cleared = 0
    for one in clears:
        chosen = sorted({task_id for task_id, _ in one.chosen})
        if not chosen:
            continue
        dag_id, run_id = one.run["dag_id"], one.run["run_id"]
        print(
            f"{run_id}: {' '.join(chosen)}"
            if dag_id == args.dag_id
            else f"{dag_id} {run_id}: {' '.join(chosen)}"
        )
        cleared += len(chosen)
        if not args.dry_run:
            await store.clear(dag_id, run_id, chosen)
    print(f"{'would clear' if args.dry_run else 'cleared'} {cleared} task(s)")
    return 0


async def _chosen_runs(
    store: Store,
    args: argparse.Namespace,
    dag: dict[str, Any],
    wanted: set[str],
    keep: Callable[[TIRecord], bool],
) -> list[RunClear]:
    from airlane.api.clear_across import RunClear

    clears = []
    for run_id in args.run_id or await store.all_run_ids(args.dag_id):
        run = await store.run(args.dag_id, run_id)
        if run is None:
            raise CliError(f"run {run_id!r} of DAG {args.dag_id!r} not found")
        tis = await store.task_instances(args.dag_id, run_id)
        chosen = {k: v for k, v in tis.items() if k[0] in wanted and keep(v[0])}
        clears.append(RunClear(dag, run, chosen))
    return clears


async def _with_marked(
    store: Store, clears: list[RunClear], keep: Callable[[TIRecord], bool]
) -> list[RunClear]:
    """With ``--downstream``, ExternalTaskMarkers clear the tasks they mark in other DAGs, as
    the API's clear does (api/clear_across.py)."""
    from airlane.api.clear_across import ClearRefused, MarkerWalk, merge_runs

    try:
        return merge_runs(clears, await MarkerWalk(store, keep).follow(clears))
    except ClearRefused as err:
        raise CliError(str(err)) from None


async def cmd_backfill_create(args: argparse.Namespace) -> int:
    from airlane.scheduling.backfill import BackfillError, Reprocess, create_backfill

    store = await _store()
    dag = await store.dag(args.dag_id)
    if dag is None:
        raise CliError(f"--dag-id: DAG {args.dag_id!r} not found")
    start, end = (
        parse_date_arg("--from-date", args.from_date),
        parse_date_arg("--to-date", args.to_date),
    )
    try:
        backfill, dates = await create_backfill(
            store,
            dag,
            start,
            end,
            reprocess=Reprocess(args.reprocess_behavior),
            max_active_runs=args.max_active_runs,
            run_backwards=args.run_backwards,
            conf=parse_conf(args.conf),
            dry_run=args.dry_run,
        )
    except BackfillError as err:
        raise CliError(f"--{err.field.replace('_', '-')}: {err}") from None
    for when in dates if args.dry_run else []:
        print(when.isoformat())
    if backfill is not None:
        print(f"backfill {backfill.id} of {args.dag_id}: {len(dates)} logical dates")
    return 0


async def cmd_backfill_list(args: argparse.Namespace) -> int:
    from airlane.scheduling.backfill import load_all

    for backfill in await load_all(await _store()):
        if args.dag_id and backfill.dag_id != args.dag_id:
            continue
        state = "done" if backfill.completed_at else ("paused" if backfill.is_paused else "going")
        print(
            f"{backfill.id}  {backfill.dag_id}  {backfill.from_date} .. {backfill.to_date}  "
            f"{state}  {len(backfill.pending)} dates left, {len(backfill.runs)} runs"
        )
    return 0


def parse_date_arg(flag: str, value: str) -> datetime:
    try:
        parsed = coerce_datetime(value)
    except Exception as err:
        raise CliError(f"{flag}: not a date or date-time: {value!r} ({err})") from None
    assert parsed is not None
    return parsed


def _run(coro: Any) -> int:
    result: int = asyncio.run(coro)
    return result


async def _store() -> Store:
    return Store(connect(Settings.from_env().redis_url, client_name="airlane-cli"))


async def run_summary(store: Store, dag_id: str, run_id: str) -> dict[str, Any]:
    """``{"dag_id", "run_id", "state", "tasks": {label: {"state", "try_number"}}}``."""
    run = await store.run(dag_id, run_id)
    if run is None:
        raise CliError(f"run {run_id!r} of DAG {dag_id!r} not found")
    dag = await store.snapshot(run["dag_hash"]) if run.get("dag_hash") else await store.dag(dag_id)
    order = {t["task_id"]: i for i, t in enumerate((dag or {}).get("tasks", []))}
    tis = await store.task_instances(dag_id, run_id)
    tasks = {}
    for (task_id, map_index), (record, _meta) in sorted(
        tis.items(), key=lambda kv: (order.get(kv[0][0], 1 << 30), kv[0][1])
    ):
        label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        tasks[label] = instance_summary(record)
    return {"dag_id": dag_id, "run_id": run_id, "state": run.get("state", "queued"), "tasks": tasks}


async def cmd_trigger(args: argparse.Namespace) -> int:
    store = await _store()
    conf = parse_conf(args.conf)
    logical_date = parse_logical_date(args.logical_date) or utcnow()
    run_id = args.run_id or f"manual__{logical_date.isoformat()}"
    problem = run_id_problem(run_id)
    if problem is not None:
        raise CliError(f"--run-id: {run_id!r} {problem}")
    dag = await store.dag(args.dag_id)
    allowed = (dag or {}).get("allowed_run_types")
    denied = refusal(args.dag_id, allowed, DagRunType.MANUAL, "manual runs")
    if denied is not None:
        raise CliError(denied)  # Airflow's trigger_dag refuses it so
    try:
        start, end = await manual_interval(store, args.dag_id, logical_date)
    except TimetableError as err:
        raise CliError(f"the DAG's timetable cannot infer a data interval: {err}") from None
    request = RunRequest(args.dag_id, run_id, logical_date, start, end, conf)
    try:
        await store.create_run(request)
    except DagNotFound:
        raise CliError(f"DAG {args.dag_id!r} not found (is the DAG processor running?)") from None
    except RunExists:
        raise CliError(f"run {run_id!r} of DAG {args.dag_id!r} exists already") from None
    except ConfTooLarge as err:
        raise CliError(f"--conf: {err}") from None
    if await store.is_paused(args.dag_id):
        print(
            f"DAG {args.dag_id} is paused: "
            f"the run waits until `airlane dags unpause {args.dag_id}`",
            file=sys.stderr,
        )
    if not args.wait:
        if args.json:
            print_json({"dag_id": args.dag_id, "run_id": run_id, "state": "queued"})
        else:
            print(f"Created run {run_id} of DAG {args.dag_id}")
        return 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    while True:
        run = await store.run(args.dag_id, run_id)
        if run and run.get("state") in ("success", "failed"):
            break
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"run {run_id} did not finish within {args.timeout} s")
        await asyncio.sleep(0.05)
    summary = await run_summary(store, args.dag_id, run_id)
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0 if summary["state"] == "success" else 1


def _print_summary(summary: dict[str, Any]) -> None:
    print(f"DAG run {summary['run_id']} of {summary['dag_id']}: {summary['state']}")
    for label, info in summary["tasks"].items():
        print(f"  {label}: {info['state']} (try {info['try_number']})")


async def cmd_pause(args: argparse.Namespace, paused: bool) -> int:
    store = await _store()
    try:
        await store.set_paused(args.dag_id, paused)
    except DagNotFound:
        raise CliError(f"DAG {args.dag_id!r} not found") from None
    print(f"DAG {args.dag_id} {'paused' if paused else 'unpaused'}")
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    summary = await run_summary(await _store(), args.dag_id, args.run_id)
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    store = await _store()
    for run_id in await store.run_ids(args.dag_id, args.limit):
        run = await store.run(args.dag_id, run_id) or {}
        print(f"{run_id}  {run.get('state', '?')}")
    return 0


async def cmd_logs(args: argparse.Namespace) -> int:
    store = await _store()
    if await store.run(args.dag_id, args.run_id) is None:
        raise CliError(f"no run {args.run_id} of DAG {args.dag_id}")
    tis = await store.task_instances(args.dag_id, args.run_id)
    found = tis.get((args.task_id, args.map_index))
    if found is None:
        raise CliError(f"no task instance {args.task_id} in run {args.run_id} of {args.dag_id}")
    if args.try_number is None and found[0].try_number == 0:
        # Try 0, as the run's summary says: it never ran (upstream_failed, skipped, waiting).
        state = found[0].state.value or "none"
        print(
            f"(no try to show: {args.task_id} has not run; state {state}, try 0)", file=sys.stderr
        )
        return 0
    try_number = args.try_number or found[0].try_number
    key = store.keys.log(args.dag_id, args.run_id, args.task_id, args.map_index, try_number)
    printed = False
    # Page by page, printed as read: a log of many MB never sits whole in this process.
    async for lines in iter_pages(store.client, key):
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
        printed = True
    if not printed:
        print(f"(no log lines for try {try_number})", file=sys.stderr)
    return 0
