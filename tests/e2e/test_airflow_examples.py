"""Airflow's own example DAGs (pinned wheels, fetched with pip into .cache/) run with Airlane and
end every task as real Airflow did (tests/compat/expected/, recorded by scripts/compat/record.py).

Files that do not load or match yet are listed with their reason in each expected file's
``expected_failures``; this test fails when a file outside that list stops matching, and when a
listed file starts to match (so the list shrinks as features land). A failed download fails the
test: it is never skipped.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from tests.compat.examples import SUITES
from tests.compat.report import bookkeeping_problems, text_table
from tests.compat.runner import run_suite

# Files run at once. The machine (and CI's) has two cores, but a third of the suite's file-time
# is examples that sleep (an SLA example, a sensor waiting 60 s for another DAG, async time
# sensors): with more at once they overlap with the ones that compute.
JOBS = 6
# A comma-separated subset of suite names narrows a local run; CI runs every suite.
ONLY = [n for n in os.environ.get("AIRLANE_COMPAT_SUITES", "").split(",") if n]


@pytest.mark.timeout(600)
async def test_airflow_example_dags_match_airflow() -> None:
    started = time.monotonic()
    gate = asyncio.Semaphore(JOBS)
    suites = [s for s in SUITES if not ONLY or s.name in ONLY]
    reports = await asyncio.gather(*(run_suite(suite, gate) for suite in suites))
    elapsed_s = time.monotonic() - started
    for report in reports:
        print(text_table(report), end="\n\n")
    print(f"all suites: {elapsed_s:.0f} s")
    problems = [p for report in reports for p in bookkeeping_problems(report)]
    assert not problems, "\n".join(problems)
