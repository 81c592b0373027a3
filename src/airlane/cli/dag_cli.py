"""``dag.cli()``: a DAG file run as a script answers Airflow's DAG-scoped commands.

A DAG file for Airflow often ends with ``if __name__ == "__main__": dag.cli()``, and then
``python my_dag.py tasks test my_task 2025-01-01`` runs one task. Airflow's ``dag.cli()``
(1.10 to 3.x) offers ``dags test``, ``tasks list`` and ``tasks test`` on that DAG, without the
``dag_id`` argument the full CLI takes (cli_config.py, ``_remove_dag_id_opt``):

    python my_dag.py dags test [logical_date] [-c CONF]
    python my_dag.py tasks list [--tree]
    python my_dag.py tasks test task_id [logical_date]

The ``dag_id`` may still be given first (``dags test my_dag``, ``tasks test my_dag my_task``):
it names one of the file's DAGs. ``dags list`` lists them. Everything runs in this process with
Airlane's in-process runner, as ``airlane dags test`` and ``airlane tasks test`` do: no Redis.
Airflow's commands that need its database (backfill, pause, list-runs, tasks run) are not here:
they belong to the running service (``airlane backfill``, ``airlane runs``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from airlane.cli import dags_cmd, tasks_cmd
from airlane.cli.common import CliError, parse_conf, parse_logical_date
from airlane.config import Settings
from airlane.dag_loader.serialize import serialize_dag
from airlane.dag_loader.validate import validate_dag
from airlane.sdk.dag import DAG
from airlane.sdk.node import DAGNode

#: dag_id -> DAG, the DAG ``cli()`` was called on first.
FileDags = dict[str, DAG]


def file_dags(dag: DAG) -> FileDags:
    """``dag`` and the other DAGs the running script (``__main__``) holds, each validated as the
    loader validates a DAG file's DAGs."""
    found: FileDags = {dag.dag_id: dag}
    main = sys.modules.get("__main__")
    for value in vars(main).values() if main is not None else ():
        if isinstance(value, DAG):
            found.setdefault(value.dag_id, value)
    for candidate in found.values():
        try:
            validate_dag(candidate)
        except Exception as err:
            raise CliError(f"DAG {candidate.dag_id!r}: {type(err).__name__}: {err}") from None
    return found


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Airflow's dag.cli(), run by Airlane")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    dags = groups.add_parser("dags", help="list or test this file's DAGs")
    dags_sub = dags.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = dags_sub.add_parser("list", help="list the DAGs of this file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_dags_list)
    p = dags_sub.add_parser("test", help="run one DAG run in this process")
    p.add_argument("words", nargs="*", metavar="[dag_id] [logical_date]")
    p.add_argument("--conf", "-c", help="JSON object passed as the run's conf")
    p.add_argument("--run-id", help="run id (default manual__<logical date>)")
    p.add_argument(
        "--mark-success-pattern",
        help="tasks whose whole id matches this regular expression succeed without running",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=cmd_dags_test)

    tasks = groups.add_parser("tasks", help="list or test this file's tasks")
    tasks_sub = tasks.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = tasks_sub.add_parser("list", help="list the tasks of the DAG")
    p.add_argument("words", nargs="*", metavar="[dag_id]")
    p.add_argument("--tree", "-t", action="store_true", help="print the tasks as a tree")
    p.set_defaults(handler=cmd_tasks_list)
    p = tasks_sub.add_parser("test", help="run one task alone, ignoring its dependencies")
    p.add_argument("words", nargs="+", metavar="[dag_id] task_id [logical_date]")
    p.add_argument("--map-index", type=int, default=-1)
    p.add_argument("--conf", "-c", help="JSON object used as the run's conf")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=cmd_tasks_test)
    return parser


def _pick_dag(dags: FileDags, words: list[str], rest: int, named: bool) -> tuple[DAG, list[str]]:
    """The DAG a command acts on and its other words: the first word is a DAG id when the
    command has ``rest`` + 1 words, or when ``named`` says it is one; else the DAG is the one
    ``cli()`` was called on (Airflow's form)."""
    if len(words) > rest + 1:
        raise CliError(f"too many arguments: {' '.join(words)}")
    if len(words) <= rest and not named:
        return next(iter(dags.values())), words
    if words[0] not in dags:
        raise CliError(f"no DAG {words[0]!r} in this file (its DAGs: {', '.join(dags)})")
    return dags[words[0]], words[1:]


def cmd_dags_list(args: argparse.Namespace, dags: FileDags) -> int:
    rows = dags_cmd.list_rows((dag.fileloc, serialize_dag(dag)) for dag in dags.values())
    dags_cmd.print_rows(rows, as_json=args.json)
    return 0


def cmd_dags_test(args: argparse.Namespace, dags: FileDags) -> int:
    words: list[str] = args.words
    dag, words = _pick_dag(dags, words, rest=1, named=len(words) == 1 and words[0] in dags)
    return dags_cmd.run_dag_test(
        dag,
        logical_date=parse_logical_date(words[0] if words else None),
        conf=parse_conf(args.conf),
        run_id=args.run_id,
        as_json=args.json,
        lookup=dags.get,
        mark_success_pattern=args.mark_success_pattern,
    )


def cmd_tasks_list(args: argparse.Namespace, dags: FileDags) -> int:
    dag, _ = _pick_dag(dags, args.words, rest=0, named=False)
    lines = tree_lines(dag) if args.tree else sorted(dag.task_dict)
    print("\n".join(lines))
    return 0


def tree_lines(dag: DAG) -> Iterator[str]:
    """Airflow 2's ``tasks list --tree``: each root, then its downstream tasks indented by 4."""

    def walk(task: DAGNode, level: int) -> Iterator[str]:
        yield " " * 4 * level + repr(task)
        for child in sorted(task.downstream_list, key=lambda t: t.task_id):
            yield from walk(child, level + 1)

    for root in sorted(dag.roots, key=lambda t: t.task_id):
        yield from walk(root, 0)


def cmd_tasks_test(args: argparse.Namespace, dags: FileDags) -> int:
    words: list[str] = args.words
    # Two words are "dag_id task_id" when they name a DAG of the file and one of its tasks,
    # else Airflow's "task_id logical_date".
    named = len(words) == 2 and words[0] in dags and words[1] in dags[words[0]].task_dict
    dag, rest = _pick_dag(dags, words, rest=2, named=named)
    return tasks_cmd.run_task_test(
        dag,
        rest[0],
        map_index=args.map_index,
        logical_date=parse_logical_date(rest[1] if len(rest) > 1 else None),
        conf=parse_conf(args.conf),
        as_json=args.json,
        xcom_max_bytes=Settings.from_env().xcom_max_bytes,
    )


def run(dag: DAG, argv: Sequence[str] | None = None) -> NoReturn:
    """Parse the script's arguments and run the command on the file's DAGs; exits."""
    prog = f"python {os.path.basename(sys.argv[0]) or 'dag.py'}"
    args = build_parser(prog).parse_args(argv)
    try:
        code = args.handler(args, file_dags(dag))
    except CliError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        code = 2
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        code = 0
    sys.exit(code)
