"""A try's request as the worker sends it to a task process (isolated_try), for tests that
drive task processes directly."""

from __future__ import annotations

from typing import Any


def try_request(fileloc: str, dag_id: str, task_id: str) -> dict[str, Any]:
    """The first try of ``task_id`` in a manual run ``r1`` of ``dag_id`` from ``fileloc``."""
    run = {
        "dag_id": dag_id,
        "run_id": "r1",
        "logical_date": None,
        "data_interval_start": None,
        "data_interval_end": None,
        "conf": {},
        "run_type": "manual",
    }
    return {
        "fileloc": fileloc,
        "task_id": task_id,
        "map_index": -1,
        "try_number": 1,
        "max_tries": 0,
        "reschedule_started_at_s": None,
        "resume_json": "",
        "run": run,
    }
