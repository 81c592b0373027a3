"""``airlane tasks test``: run one task alone, without its dependencies."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime
from typing import Any

from airlane.cli.common import (
    CliError,
    add_folder_arg,
    load_dag,
    parse_conf,
    parse_logical_date,
    print_json,
    settings_for,
)
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.dag import DAG
from airlane.sdk.mapped import MappedOperator
from airlane.sdk.mapped_group import closest_mapped_group
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.inline_trigger import run_resuming
from airlane.service.execution.local_runner import make_run_info
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("test", help="run one task in this process, ignoring dependencies")
    p.add_argument("dag_id")
    p.add_argument("task_id")
    p.add_argument("logical_date_pos", nargs="?", help="logical date (Airflow's positional form)")
    add_folder_arg(p)
    p.add_argument("--logical-date", "-e", dest="logical_date")
    p.add_argument("--map-index", type=int, default=-1)
    p.add_argument("--conf", "-c", help="JSON object used as the run's conf")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_test)

    from airlane.cli.client import register_tasks

    register_tasks(sub)


def cmd_test(args: argparse.Namespace) -> int:
    settings, folder = settings_for(args)
    dag = load_dag(settings, folder, args.dag_id)
    logical_date = parse_logical_date(args.logical_date or args.logical_date_pos)
    return run_task_test(
        dag,
        args.task_id,
        map_index=args.map_index,
        logical_date=logical_date,
        conf=parse_conf(args.conf),
        as_json=args.json,
        xcom_max_bytes=settings.xcom_max_bytes,
    )


def run_task_test(
    dag: DAG,
    task_id: str,
    *,
    map_index: int,
    logical_date: datetime | None,
    conf: dict[str, Any],
    as_json: bool,
    xcom_max_bytes: int,
) -> int:
    """Run one task of ``dag`` alone in this process and print its end state (``tasks test``)."""
    if task_id not in dag.task_dict:
        raise CliError(f"task {task_id!r} not found in DAG {dag.dag_id!r}")
    node = dag.task_dict[task_id]
    mapped = isinstance(node, MappedOperator) or closest_mapped_group(node) is not None
    if mapped and map_index < 0:
        raise CliError(f"task {task_id!r} is mapped: pass --map-index")
    run = make_run_info(dag, logical_date, conf, None, external_trigger=False)
    stream = sys.stderr if as_json else sys.stdout
    env = ExecutionEnv(
        xcoms=InMemoryXComs(dag.dag_id, run.run_id),
        log=lambda line: print(f"[{task_id}] {line}", file=stream, flush=True),
        xcom_max_bytes=xcom_max_bytes,
    )
    request = TaskRequest(run=run, key=TIKey(task_id, map_index), try_number=1, max_tries=0)

    def run_try(resume_json: str) -> Awaitable[TaskOutcome]:
        return execute_task(node, dag, replace(request, resume_json=resume_json), env)

    outcome = asyncio.run(run_resuming(run_try, env.log))
    if as_json:
        print_json(
            {
                "dag_id": dag.dag_id,
                "task_id": task_id,
                "state": outcome.state.value,
                "error": outcome.error,
            }
        )
    else:
        error = f" ({outcome.error})" if outcome.error else ""
        print(f"{task_id}: {outcome.state.value}{error}")
    return 1 if outcome.state is TaskInstanceState.FAILED else 0
