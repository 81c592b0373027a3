"""Run every DAG of one DAG file as ``airlane dags test --json`` does, in one process.

    python -m tests.compat.run_file <dags folder> <file> <logical date> [--only [DAG_ID ...]]

Prints one JSON object on stdout: the file's import errors (as ``dags list-import-errors
--json``), the ids of the DAGs it defines and, for each DAG run, the result that ``dags test
--json`` prints. ``--only`` runs just the DAGs named (none: the file is only loaded), for the
files whose other DAGs real Airflow's ``dags test`` never finished. Loading the
file once and running its DAGs in turn is what makes the suite fit CI's time; the task logs go
to stderr as with ``--json``.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import orjson

from airlane.cli.common import load_dag, parse_logical_date
from airlane.config import Settings
from airlane.dag_loader.importer import load_dags
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import ParamValidationError
from airlane.service.execution.local_runner import run_dag_object


def run_file(
    folder: str, path: str, logical_date: str, only: set[str] | None = None
) -> dict[str, Any]:
    dags, errors = load_dags(path, folder)
    by_id = {dag.dag_id: dag for dag in dags}
    settings = Settings.from_env()

    def lookup(dag_id: str) -> DAG | None:
        return by_id.get(dag_id) or load_dag(settings, folder, dag_id)

    def sink(label: str, line: str) -> None:
        print(f"[{label}] {line}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {}
    for dag in dags:
        if only is not None and dag.dag_id not in only:
            continue
        try:
            result = run_dag_object(
                dag, logical_date=parse_logical_date(logical_date), sink=sink, lookup=lookup
            )
            results[dag.dag_id] = result.to_json()
        except ParamValidationError as err:
            # Refused before any run exists, as Airflow's ``dags test`` refuses: no tasks.
            results[dag.dag_id] = {"refused": f"{type(err).__name__}: {err}", "tasks": {}}
        except Exception as err:  # a crash of the runner is a result to report, not to hide
            traceback.print_exc()
            results[dag.dag_id] = {"error": f"{type(err).__name__}: {err}"}
    return {
        "import_errors": [e.to_json() for e in errors],
        "dag_ids": [dag.dag_id for dag in dags],
        "dags": results,
    }


def main(argv: list[str]) -> int:
    folder, path, logical_date, *rest = argv
    only = set(rest[1:]) if rest[:1] == ["--only"] else None
    data = run_file(folder, path, logical_date, only)
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS) + b"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
