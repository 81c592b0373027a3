"""``airlane dags``: list, show, list-import-errors, test."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from airlane.cli.common import (
    CliError,
    add_folder_arg,
    load_dag,
    parse_conf,
    parse_folder,
    parse_logical_date,
    print_json,
    settings_for,
)
from airlane.dag_loader.importer import plugin_import_errors
from airlane.queue.protocol import run_id_problem
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import ParamValidationError
from airlane.sdk.state import DagRunState


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the DAGs of a folder")
    add_folder_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("list-import-errors", help="list files that failed to load")
    add_folder_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_import_errors)

    p = sub.add_parser("show", help="print a DAG's graph as text")
    p.add_argument("dag_id")
    add_folder_arg(p)
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("test", help="run one DAG run in this process, without Redis")
    p.add_argument("dag_id")
    add_folder_arg(p)
    p.add_argument(
        "--logical-date", "-e", dest="logical_date", help="ISO date or date-time (default: now)"
    )
    p.add_argument("--conf", "-c", help="JSON object passed as the run's conf")
    p.add_argument("--run-id", help="run id (default manual__<logical date>)")
    p.add_argument(
        "--json", action="store_true", help="print the result as JSON (logs go to stderr)"
    )
    p.set_defaults(handler=cmd_test)

    from airlane.cli.client import register_dags

    register_dags(sub)


def _schedule_text(schedule: dict[str, Any]) -> str:
    return str(schedule.get("expression")) if schedule.get("kind") != "none" else "None"


def cmd_list(args: argparse.Namespace) -> int:
    settings, folder = settings_for(args)
    results = parse_folder(settings, folder)
    rows = list_rows((result.filename, dag) for result in results for dag in result.dags)
    errors = sum(len(r.errors) for r in results)
    print_rows(rows, as_json=args.json)
    if errors:
        print(f"{errors} import error(s): see `airlane dags list-import-errors`", file=sys.stderr)
    return 0


def list_rows(dags: Iterable[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """``dags list``'s rows, by DAG id, from (file, serialized DAG) pairs."""
    rows = [
        {
            "dag_id": dag["dag_id"],
            "fileloc": filename,
            "tasks": len(dag["tasks"]),
            "schedule": _schedule_text(dag["schedule"]),
            "tags": dag["tags"],
        }
        for filename, dag in dags
    ]
    rows.sort(key=lambda row: row["dag_id"])
    return rows


def print_rows(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        print_json(rows)
    else:
        _print_table(rows, ["dag_id", "fileloc", "tasks", "schedule"])


def cmd_import_errors(args: argparse.Namespace) -> int:
    settings, folder = settings_for(args)
    errors = [e for r in parse_folder(settings, folder) for e in r.errors]
    errors += plugin_import_errors()
    if args.json:
        print_json([e.to_json() for e in errors])
        return 0
    if not errors:
        print("No import errors")
    for error in errors:
        print(error.describe())
        if error.traceback:
            print("    " + error.traceback.rstrip().replace("\n", "\n    "))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    settings, folder = settings_for(args)
    for result in parse_folder(settings, folder):
        for dag in result.dags:
            if dag["dag_id"] == args.dag_id:
                print(render_graph(dag))
                return 0
    raise CliError(f"DAG {args.dag_id!r} not found in {folder}")


def render_graph(dag: dict[str, Any]) -> str:
    """The DAG as text: each task (upstream first) with its operator and downstream tasks."""
    lines = [
        f"DAG {dag['dag_id']}  schedule={_schedule_text(dag['schedule'])}  "
        f"tasks={len(dag['tasks'])}"
    ]
    for task in dag["tasks"]:
        mapped = " [mapped]" if task["mapped"] else ""
        rule = "" if task["trigger_rule"] == "all_success" else f" ({task['trigger_rule']})"
        arrow = " >> " + ", ".join(task["downstream"]) if task["downstream"] else ""
        lines.append(f"  {task['task_id']} <{task['operator']}>{mapped}{rule}{arrow}")
    return "\n".join(lines)


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c), *(len(str(r[c])) for r in rows)]) for c in columns}
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-+-".join("-" * widths[c] for c in columns))
    for row in rows:
        print(" | ".join(str(row[c]).ljust(widths[c]) for c in columns))


def cmd_test(args: argparse.Namespace) -> int:
    settings, folder = settings_for(args)
    logical_date = parse_logical_date(args.logical_date)
    conf = parse_conf(args.conf)
    _check_run_id(args.run_id)
    dag = load_dag(settings, folder, args.dag_id)

    def lookup(dag_id: str) -> Any:
        return dag if dag_id == dag.dag_id else load_dag(settings, folder, dag_id)

    return run_dag_test(
        dag,
        logical_date=logical_date,
        conf=conf,
        run_id=args.run_id,
        as_json=args.json,
        lookup=lookup,
        paused_at_creation=settings.dags_are_paused_at_creation,
    )


def _check_run_id(run_id: str | None) -> None:
    problem = run_id_problem(run_id) if run_id is not None else None
    if problem is not None:
        raise CliError(f"--run-id: {run_id!r} {problem}")


def run_dag_test(
    dag: DAG,
    *,
    logical_date: datetime | None,
    conf: dict[str, Any],
    run_id: str | None,
    as_json: bool,
    lookup: Callable[[str], DAG | None],
    mark_success_pattern: str | None = None,
    paused_at_creation: bool = True,
) -> int:
    """Run one run of ``dag`` in this process and print its task states (``dags test``).
    ``paused_at_creation``: ``[core] dags_are_paused_at_creation``."""
    from airlane.service.execution.local_runner import run_dag_object

    _check_run_id(run_id)
    stream = sys.stderr if as_json else sys.stdout

    def sink(label: str, line: str) -> None:
        # One write per line: print() writes the newline apart, and tasks log from threads.
        stream.write(f"[{label}] {line}\n")
        stream.flush()

    try:
        result = run_dag_object(
            dag,
            logical_date=logical_date,
            conf=conf,
            run_id=run_id,
            sink=sink,
            lookup=lookup,
            mark_success_pattern=mark_success_pattern,
            paused_at_creation=paused_at_creation,
        )
    except ParamValidationError as err:
        # Airflow creates no run and exits 1 with the same message.
        print(f"DAG run not created: {err}", file=sys.stderr)
        return 1
    if as_json:
        print_json(result.to_json())
    else:
        print(f"\nDAG run {result.run_id}: {result.state.value}")
        for label, info in result.tasks.items():
            print(f"  {label}: {info['state']} (try {info['try_number']})")
    return 0 if result.state is DagRunState.SUCCESS else 1
