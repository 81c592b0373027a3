"""Run Airflow's example DAGs with Airlane and print the compatibility table.

    .venv/bin/python scripts/compat/run_suite.py [--suite NAME ...] [--jobs 2]
        [--file NAME ...] [--write-docs] [--update-failures]

--file runs only the example files named (e.g. the asset files while working on them); it
cannot be combined with --write-docs or --update-failures, which need every file.

--write-docs rewrites docs/compatibility.md; --update-failures rewrites each expected file's
``expected_failures`` from this run (after a feature lands, so the list shrinks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.compat.examples import ROOT, SUITES, suite_named
from tests.compat.report import (
    bookkeeping_problems,
    failures_table,
    markdown,
    text_table,
)
from tests.compat.runner import SuiteReport, run_suite

DOCS = ROOT / "docs" / "compatibility.md"


def update_failures(report: SuiteReport) -> None:
    path = report.suite.expected_path
    if not path.exists():
        return
    data = json.loads(path.read_text())
    data["expected_failures"] = failures_table(report)
    path.write_text(json.dumps(data, indent=2) + "\n")


async def run_all(names: list[str], jobs: int, files: list[str] | None = None) -> list[SuiteReport]:
    gate = asyncio.Semaphore(jobs)
    return list(await asyncio.gather(*(run_suite(suite_named(n), gate, files) for n in names)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", help="suite name (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="files run at once")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--update-failures", action="store_true")
    parser.add_argument("--file", action="append", help="run only this example file")
    args = parser.parse_args()
    if args.file and (args.write_docs or args.update_failures):
        parser.error("--file runs part of a suite: not with --write-docs or --update-failures")
    reports = asyncio.run(run_all(args.suite or [s.name for s in SUITES], args.jobs, args.file))
    problems = []
    for report in reports:
        print(text_table(report), end="\n\n")
        if args.update_failures:
            update_failures(report)
        else:
            problems += bookkeeping_problems(report)
    if args.write_docs:
        DOCS.write_text(markdown(reports))
        print(f"wrote {DOCS}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
